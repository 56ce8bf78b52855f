package api

// TokenValue is the body of PUT /tokens/{name}. It is the only LocalAPI type
// that carries a credential in the clear, and only towards the daemon, over
// the 0600 unix socket; no answer ever carries one back.
type TokenValue struct {
	Token string `json:"token"`
}

// TokenKind says what sort of Anthropic credential a token is.
type TokenKind string

const (
	KindOAuth  TokenKind = "oauth"   // sk-ant-oat01-…, sent as Authorization: Bearer
	KindAPIKey TokenKind = "api-key" // sk-ant-api…, sent as x-api-key
)

// TokenOrigin says where a credential was found.
type TokenOrigin string

const (
	OriginEnv      TokenOrigin = "environment"
	OriginKeychain TokenOrigin = "keychain"
)

// KeychainState is what the OS keychain holds under a credential's name.
type KeychainState string

const (
	KeychainSet         KeychainState = "set"
	KeychainEmpty       KeychainState = "empty"
	KeychainInvalid     KeychainState = "invalid"     // an entry that is not a valid credential
	KeychainUnavailable KeychainState = "unavailable" // the keychain cannot be reached
)

// TokenStatus describes a credential without revealing it: the answer of
// the /tokens/{name} routes.
type TokenStatus struct {
	Name        string        `json:"name"`
	Configured  bool          `json:"configured"`            // a usable credential was found
	Kind        TokenKind     `json:"kind,omitempty"`        // oauth or api-key
	Origin      TokenOrigin   `json:"origin,omitempty"`      // environment or keychain
	EnvVar      string        `json:"env_var,omitempty"`     // the variable, when Origin is environment
	Fingerprint string        `json:"fingerprint,omitempty"` // at most the last 4 characters
	Keychain    KeychainState `json:"keychain"`
	Warning     string        `json:"warning,omitempty"` // e.g. the environment shadows the keychain
	Error       string        `json:"error,omitempty"`   // why no usable credential was found
}
