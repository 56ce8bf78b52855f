package api

// Tokens counts what Messages API answers said they used.
type Tokens struct {
	Input      int64 `json:"input_tokens"`
	Output     int64 `json:"output_tokens"`
	CacheWrite int64 `json:"cache_write_tokens"` // cache_creation_input_tokens
	CacheRead  int64 `json:"cache_read_tokens"`  // cache_read_input_tokens
	Requests   int64 `json:"requests"`
}

// Total is every token counted: input, output, cache writes and reads.
// A token budget is compared with it.
func (t Tokens) Total() int64 { return t.Input + t.Output + t.CacheWrite + t.CacheRead }

// Add returns t plus o.
func (t Tokens) Add(o Tokens) Tokens {
	return Tokens{t.Input + o.Input, t.Output + o.Output, t.CacheWrite + o.CacheWrite, t.CacheRead + o.CacheRead, t.Requests + o.Requests}
}

// Price is what a model's tokens cost, in US dollars per million tokens.
type Price struct {
	Input      float64 `json:"input"`
	Output     float64 `json:"output"`
	CacheWrite float64 `json:"cache_write"`
	CacheRead  float64 `json:"cache_read"`
}

// Cost is what t costs at p, in US dollars.
func (p Price) Cost(t Tokens) float64 {
	return (float64(t.Input)*p.Input + float64(t.Output)*p.Output +
		float64(t.CacheWrite)*p.CacheWrite + float64(t.CacheRead)*p.CacheRead) / 1e6
}

// ModelUsage is one model's share of a session's usage.
type ModelUsage struct {
	Model string `json:"model"`
	Tokens
	// CostUSD is its cost at the price table's figures; 0 and Priced
	// false when the table has no price for the model.
	CostUSD float64 `json:"cost_usd"`
	Priced  bool    `json:"priced"`
}

// Usage is what a session's requests to the Messages API used, as the
// proxy read it from the answers.
type Usage struct {
	Tokens               // the totals, every model's
	Models  []ModelUsage `json:"models,omitempty"`
	CostUSD float64      `json:"cost_usd"` // of the priced models
	// CostKnown is false when some model has no price, so CostUSD counts
	// only part of the tokens.
	CostKnown bool `json:"cost_known"`
	// Budget is the session's own; zero for none.
	Budget Budget `json:"budget,omitzero"`
	// TreeCostUSD and TreeTokens are what the budget is compared with (a
	// model without a price counts at the table's highest price):
	// this session's usage and that of every child it started.
	TreeCostUSD float64 `json:"tree_cost_usd"`
	TreeTokens  int64   `json:"tree_tokens"`
}

// Budget caps what a session (with its children) may spend: in US
// dollars, in tokens (Tokens.Total), or both; 0 is no cap.
type Budget struct {
	USD    float64 `json:"usd,omitempty"`
	Tokens int64   `json:"tokens,omitempty"`
}

// SetBudget is the body of POST /sessions/{name}/budget: the caps to set;
// one left out is kept, and 0 removes it.
type SetBudget struct {
	USD    *float64 `json:"usd,omitempty"`
	Tokens *int64   `json:"tokens,omitempty"`
}

// DailyBudget is GET and PUT /budget: the day's cap across every session
// (0 for none) and what today's Messages answers cost so far.
type DailyBudget struct {
	Day      string  `json:"day"`
	USD      float64 `json:"usd"`
	SpentUSD float64 `json:"spent_usd"`
}

// SetDailyBudget is the body of PUT /budget: the new daily cap in US
// dollars; 0 removes it.
type SetDailyBudget struct {
	USD *float64 `json:"usd"`
}
