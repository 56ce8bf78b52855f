package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"testing"
)

// assertNoLeak fails if out holds the canary in any readable encoding.
func assertNoLeak(t *testing.T, how, out, secret string) {
	t.Helper()
	tail := secret[len("sk-ant-oat01-"):]
	for _, bad := range []string{
		secret, tail,
		hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret))),
		base64.StdEncoding.EncodeToString([]byte(secret)),
		fmt.Sprintf("%q", secret),
	} {
		if strings.Contains(out, bad) {
			t.Errorf("%s leaks the secret: %s", how, out)
			return
		}
	}
}

// TestTokenNeverPrints prints a canary every way a program might and checks
// that no output holds it.
func TestTokenNeverPrints(t *testing.T) {
	secret := canary("oauth")
	tok := mustParse(t, secret)
	rnd := Wrap("9f3c2a7b1e4d6058a1b2c3d4e5f60718") // a session proxy credential

	type exported struct {
		Name  string
		Token Token
	}
	type unexported struct {
		name string
		tok  Token
	}
	type withPtr struct{ Token *Token }
	type embedded struct {
		Token
		Other string
	}
	type nested struct {
		Inner exported
		inner unexported
	}
	values := map[string]any{
		"value":             tok,
		"pointer":           &tok,
		"exported field":    exported{"x", tok},
		"unexported field":  unexported{"x", tok},
		"pointer field":     withPtr{&tok},
		"embedded":          embedded{tok, "o"},
		"nested":            nested{exported{"x", tok}, unexported{"y", tok}},
		"map value":         map[string]Token{"anthropic": tok},
		"map of pointers":   map[string]*Token{"anthropic": &tok},
		"slice":             []Token{tok, tok},
		"any slice":         []any{tok, &tok},
		"pointer to struct": &unexported{"x", tok},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T %p"}

	for name, v := range values {
		for _, verb := range verbs {
			assertNoLeak(t, name+" with "+verb, fmt.Sprintf(verb, v), secret)
		}
		assertNoLeak(t, name+" with Sprint", fmt.Sprint(v), secret)
		assertNoLeak(t, name+" with Sprintln", fmt.Sprintln(v), secret)

		b, err := json.Marshal(v)
		if err != nil {
			t.Errorf("json.Marshal(%s): %v", name, err)
		}
		assertNoLeak(t, name+" as JSON", string(b), secret)
		b, _ = json.MarshalIndent(v, "", " ")
		assertNoLeak(t, name+" as indented JSON", string(b), secret)
		b, _ = xml.Marshal(v) // fails for maps; whatever it does write must not leak
		assertNoLeak(t, name+" as XML", string(b), secret)

		for hname, h := range map[string]func(*bytes.Buffer) slog.Handler{
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf bytes.Buffer
			l := slog.New(h(&buf))
			l.Info("attr", "v", v)
			l.Info("group", slog.Group("g", slog.Any("v", v), slog.Group("inner", "v", v)))
			l.With("v", v).WithGroup("w").Info("with", "v", v)
			l.Info(fmt.Sprint(v))
			l.LogAttrs(context.Background(), slog.LevelError, "attrs", slog.Any("v", v))
			assertNoLeak(t, name+" in slog "+hname, buf.String(), secret)
		}

		var buf bytes.Buffer
		log.New(&buf, "", 0).Printf("%v %+v", v, v)
		assertNoLeak(t, name+" in log", buf.String(), secret)
	}

	// Errors built around a token.
	errs := []error{
		fmt.Errorf("sending %v failed", tok),
		fmt.Errorf("wrapped: %w", fmt.Errorf("token %s", tok)),
		errors.Join(errors.New("a"), fmt.Errorf("%+v", exported{"x", tok})),
	}
	for i, err := range errs {
		assertNoLeak(t, fmt.Sprintf("error %d", i), err.Error(), secret)
		assertNoLeak(t, fmt.Sprintf("error %d with %%+v", i), fmt.Sprintf("%+v", err), secret)
	}

	// A per-session proxy credential (Wrap) redacts the same way.
	for _, verb := range verbs {
		if out := fmt.Sprintf(verb, rnd); strings.Contains(out, rnd.Reveal()) {
			t.Errorf("a wrapped credential with %s leaks: %s", verb, out)
		}
	}
	if b, _ := json.Marshal(map[string]Token{"k": rnd}); strings.Contains(string(b), rnd.Reveal()) {
		t.Errorf("a wrapped credential leaks in JSON: %s", b)
	}

	// The redacted forms are what the test thinks they are.
	if got := fmt.Sprintf("%v", tok); got != redacted {
		t.Errorf("%%v = %q, want %q", got, redacted)
	}
	if b, _ := json.Marshal(exported{"x", tok}); string(b) != `{"Name":"x","Token":"[REDACTED]"}` {
		t.Errorf("JSON = %s", b)
	}
}

// TestErrorsNeverHoldTheValue checks the errors for refused values do not
// repeat them.
func TestErrorsNeverHoldTheValue(t *testing.T) {
	bad := "sk-ant-bad-CANARY-" + canary("oauth")[len("sk-ant-oat01-CANARY-"):]
	env := Env{Getenv: func(k string) string {
		if k == "CLAUDE_CODE_OAUTH_TOKEN" {
			return bad
		}
		return ""
	}}
	_, _, err := env.Get(context.Background(), Anthropic)
	if err == nil {
		t.Fatal("Env accepted a bad value")
	}
	if strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), bad[len("sk-ant-bad-CANARY-"):]) {
		t.Fatalf("error repeats the value: %v", err)
	}

	fk := &fakeKeyring{}
	k := &Keychain{Service: "svc", kr: fk}
	_ = fk.Set("svc", Anthropic, bad)
	_, _, err = k.Get(context.Background(), Anthropic)
	if err == nil || strings.Contains(err.Error(), bad[len("sk-ant-bad-CANARY-"):]) {
		t.Fatalf("invalid keychain entry: error %v", err)
	}
}
