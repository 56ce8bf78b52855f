package secret

import (
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

func TestNewRandom(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := NewRandom()
		v := tok.Reveal()
		if len(v) != 43 {
			t.Fatalf("len = %d, want 43 (32 bytes base64url)", len(v))
		}
		if strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("%q is not URL-safe", v)
		}
		if seen[v] {
			t.Fatal("NewRandom repeated a value")
		}
		seen[v] = true
		if tok.String() != redacted {
			t.Fatal("random token does not redact")
		}
	}
}
