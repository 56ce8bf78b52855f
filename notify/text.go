package notify

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/termsafe"
)

// maxBody bounds a body in runes: a notification is a glance, and a
// result can be long.
const maxBody = 200

func waitingNote(name string, state api.ActivityState, prompt string) note {
	what := "waiting for input"
	if state == api.ActivityWaitingPerm {
		what = "waiting for permission"
	}
	body := "Claude Code finished its turn. Click to attach."
	if state == api.ActivityWaitingPerm {
		body = "Claude Code asks to use a tool. Click to attach."
	}
	if p := firstLine(prompt); p != "" {
		body = "Prompt: " + p + "\n" + body
	}
	return note{Name: name, Kind: KindWaiting, Summary: name + " is " + what, Body: body}
}

func finishedNote(s *api.Session) note {
	body := "The print run finished."
	if s.Result != nil && strings.TrimSpace(s.Result.Text) != "" {
		body = s.Result.Text
	}
	return note{Name: s.Name, Kind: KindFinished, Summary: s.Name + " finished", Body: body}
}

func failedNote(s *api.Session) note {
	var body string
	switch {
	case s.Status == api.StatusFailed && s.Reason != "":
		body = s.Reason
	case s.Result != nil && strings.TrimSpace(s.Result.Text) != "":
		body = s.Result.Text
	case s.ExitCode != nil:
		body = "Claude Code exited with code " + strconv.Itoa(*s.ExitCode) + "."
	default:
		body = "The session failed."
	}
	return note{Name: s.Name, Kind: KindFailed, Summary: s.Name + " failed", Body: body}
}

// budgetNote says what was spent: from the usage when known, else the
// proxy's refusal as the result quoted it.
func budgetNote(name string, u *api.Usage, refusal string) note {
	body := refusal
	switch {
	case u != nil && u.Budget.USD > 0 && u.TreeCostUSD >= u.Budget.USD:
		body = fmt.Sprintf("$%.2f of its $%.2f budget used. Raise it with `clauderon budget %s USD`.", u.TreeCostUSD, u.Budget.USD, name)
	case u != nil && u.Budget.Tokens > 0:
		body = fmt.Sprintf("%d of its %d tokens used. Raise it with `clauderon budget %s --tokens N`.", u.TreeTokens, u.Budget.Tokens, name)
	case body == "":
		body = "Its budget is spent."
	}
	return note{Name: name, Kind: KindBudget, Summary: name + "'s budget is spent", Body: body}
}

// firstLine is a prompt's first line, shortened.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return truncate(s, 80)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// plain makes text the daemon shows as it is: control characters (a
// result is what a container wrote) become visible escapes, and it is
// cut to maxBody.
func plain(s string) string { return truncate(termsafe.Visible(s), maxBody) }

// markupEscaper escapes what the specification's body markup (a subset of
// HTML) would read as a tag or an entity.
var markupEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escapeMarkup is plain for a daemon that reads the body as markup.
func escapeMarkup(s string) string { return markupEscaper.Replace(plain(s)) }
