package secret

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	if err := CheckName(Anthropic); err != nil {
		t.Fatalf("CheckName(%q) = %v", Anthropic, err)
	}
	err := CheckName("github-ish")
	if !errors.Is(err, ErrUnknownName) || !strings.Contains(err.Error(), `"github-ish" (known: anthropic`) {
		t.Errorf("CheckName(github-ish) = %v", err)
	}
	// A token given where the name goes is not repeated.
	tok := "sk-ant-oat01-CANARY-as-a-name"
	if err := CheckName(tok); !errors.Is(err, ErrUnknownName) || strings.Contains(err.Error(), tok) {
		t.Errorf("CheckName(token) = %v", err)
	}
	if _, err := Parse("github-ish", "x"); !errors.Is(err, ErrUnknownName) {
		t.Errorf("Parse(unknown name) = %v", err)
	}
	if tok, err := Parse(Anthropic, " sk-ant-oat01-abc\n"); err != nil || tok.Reveal() != "sk-ant-oat01-abc" {
		t.Errorf("Parse(anthropic) = %v", err)
	}
}
