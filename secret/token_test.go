package secret

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseToken(t *testing.T) {
	oat := "sk-ant-oat01-abcdefghijklmnop"
	api := "sk-ant-api03-abcdefghijklmnop"
	tests := []struct {
		name string
		in   string
		want string // "" means refused
		kind Kind
	}{
		{"oauth", oat, oat, KindOAuth},
		{"api key", api, api, KindAPIKey},
		{"trailing newline", oat + "\n", oat, KindOAuth},
		{"crlf", oat + "\r\n", oat, KindOAuth},
		{"surrounding spaces and tabs", " \t" + api + "  \n", api, KindAPIKey},
		{"wrapped over lines", "sk-ant-oat01-abcdefgh\nijklmnop\n", oat, KindOAuth},
		{"empty", "", "", ""},
		{"only whitespace", " \n\t", "", ""},
		{"prefix only oauth", "sk-ant-oat01-", "", ""},
		{"prefix only api", "sk-ant-api", "", ""},
		{"other vendor", "ghp_abcdefghijklmnop", "", ""},
		{"bearer prefix pasted", "Bearer " + oat, "", ""},
		{"wrong oauth version", "sk-ant-oat02-abcdefghijklmnop", "", ""},
		{"quoted", `"` + oat + `"`, "", ""},
		{"pasted assignment", "CLAUDE_CODE_OAUTH_TOKEN=" + oat, "", ""},
		{"control byte", oat + "\x00", "", ""},
		{"non-ascii", oat + "é", "", ""},
		{"two tokens pasted", oat + "\n" + api, "", ""},
		{"underscore and dash kept", oat + "_-Z9", oat + "_-Z9", KindOAuth},
		{"clauderon's placeholder", PlaceholderOAuth + "\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := ParseToken(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrBadToken) {
					t.Fatalf("ParseToken(%q) error = %v, want ErrBadToken", tt.in, err)
				}
				if !tok.IsZero() {
					t.Errorf("refused token is not zero")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseToken(%q): %v", tt.in, err)
			}
			if got := tok.Reveal(); got != tt.want {
				t.Errorf("Reveal() = %q, want %q", got, tt.want)
			}
			if got := tok.Kind(); got != tt.kind {
				t.Errorf("Kind() = %q, want %q", got, tt.kind)
			}
		})
	}
}

func TestPlaceholderNamed(t *testing.T) {
	if _, err := ParseToken(PlaceholderOAuth); !errors.Is(err, ErrPlaceholder) {
		t.Fatalf("ParseToken(placeholder) error = %v, want ErrPlaceholder", err)
	}
}

// A daemon or `clauderon exec` started from a shell that itself runs behind
// clauderon sees the placeholder in its environment: that is no credential,
// and the next variable or source must be asked.
func TestEnvSkipsPlaceholder(t *testing.T) {
	api := "sk-ant-api03-CANARY-env-after-placeholder"
	tests := []struct {
		name string
		env  map[string]string
		want string // "" means not found
	}{
		{"placeholder only", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": PlaceholderOAuth}, ""},
		{"placeholder with newline", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": PlaceholderOAuth + "\n"}, ""},
		{"placeholder, then an API key", map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": PlaceholderOAuth, "ANTHROPIC_API_KEY": api}, api},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := Env{Getenv: func(k string) string { return tt.env[k] }}
			tok, _, err := env.Get(context.Background(), Anthropic)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil || tok.Reveal() != tt.want {
				t.Fatalf("Get = %v, want the API key", err)
			}
		})
	}
}

func TestErrBadTokenPointsAtSetupToken(t *testing.T) {
	_, err := ParseToken("hunter2")
	if err == nil || !strings.Contains(err.Error(), "claude setup-token") {
		t.Fatalf("error %v does not point at `claude setup-token`", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %q repeats the refused value", err)
	}
}

func TestFingerprint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sk-ant-oat01-abcdefghijWXYZ", "…WXYZ"},
		{"short", "…"},
		{"", "…"},
	}
	for _, tt := range tests {
		if got := Wrap(tt.in).Fingerprint(); got != tt.want {
			t.Errorf("Fingerprint(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEqual(t *testing.T) {
	a, b := Wrap("sk-ant-oat01-one"), Wrap("sk-ant-oat01-one")
	if !a.Equal(b) {
		t.Error("equal values compare unequal")
	}
	if a.Equal(Wrap("sk-ant-oat01-two")) {
		t.Error("different values compare equal")
	}
	if !(Token{}).Equal(Wrap("")) || !(Token{}).IsZero() || !Wrap("").IsZero() {
		t.Error("the empty token is not zero")
	}
}
