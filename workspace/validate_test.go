package workspace

import (
	"errors"
	"strings"
	"testing"
)

func TestValidBranch(t *testing.T) {
	for _, c := range []struct {
		branch string
		ok     bool
	}{
		{"clauderon/x", true},
		{"feature/a-b_c.d", true},
		{"main", true},
		{"", false},
		{"-x", false},
		{"a..b", false},
		{"a//b", false},
		{"a/", false},
		{"/a", false},
		{"a.lock", false},
		{"a.lock/b", false},
		{".a", false},
		{"a/.b", false},
		{"a b", false},
		{"a~1", false},
		{"a\x00b", false},
		{"é", false},
		{strings.Repeat("a", 200), true},
		{strings.Repeat("a", 201), false},
	} {
		err := validBranch(c.branch)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("validBranch(%q) = %v, want ok %v", c.branch, err, c.ok)
		}
	}
}

func TestValidFrom(t *testing.T) {
	for _, c := range []struct {
		from string
		ok   bool
	}{
		{"main", true},
		{"v1.0", true},
		{"HEAD~2", true},
		{"origin/main", true},
		{"", false},
		{"--upload-pack=x", false},
		{"-x", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"\xff", false},
		{strings.Repeat("a", 257), false},
	} {
		if err := validFrom(c.from); (err == nil) != c.ok {
			t.Errorf("validFrom(%q) = %v, want ok %v", c.from, err, c.ok)
		}
	}
}

func TestIncludes(t *testing.T) {
	if err := validIncludes(make([]string, 65)); err == nil {
		t.Error("65 globs accepted")
	}
	for _, c := range []struct {
		glob string
		ok   bool
	}{
		{".env.example", true},
		{"config/*.local", true},
		{"[", false},
		{"", false},
		{"a\x00", false},
	} {
		if err := validIncludes([]string{c.glob}); (err == nil) != c.ok {
			t.Errorf("validIncludes(%q) = %v, want ok %v", c.glob, err, c.ok)
		}
	}
	for _, c := range []struct {
		rel  string
		want bool
	}{
		{".env.example", true},
		{"sub/.env.example", true},
		{"config/app.local", true},
		{"other/app.local", false},
		{".env", false},
	} {
		if got := matchInclude([]string{".env.example", "config/*.local"}, c.rel); got != c.want {
			t.Errorf("matchInclude(%q) = %v, want %v", c.rel, got, c.want)
		}
	}
}

func TestQuoteAndSize(t *testing.T) {
	if got := quote("a\x1b[31mb"); got != `"a\x1b[31mb"` {
		t.Errorf("quote = %s", got)
	}
	if got := quote(strings.Repeat("é", 300)); len(got) > 210 || !strings.HasSuffix(got, `..."`) {
		t.Errorf("quote of a long string = %d bytes: %s", len(got), got)
	}
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {1 << 30, "1.0 GiB"},
	} {
		if got := humanSize(c.n); got != c.want {
			t.Errorf("humanSize(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// TestErrorsAreTheirText: an error of one of the package's kinds matches its
// kind and reads as its own text, with no "invalid workspace request:" or
// "conflict:" before it (users and models read these messages).
func TestErrorsAreTheirText(t *testing.T) {
	for _, kind := range []error{ErrInvalid, ErrTooBig, ErrConflict, ErrNotGit, ErrCorrupt, ErrNoGit} {
		err := errorf(kind, "branch %s already exists", "x")
		if !errors.Is(err, kind) || err.Error() != "branch x already exists" {
			t.Errorf("errorf(%v) = %q (matches its kind: %v)", kind, err, errors.Is(err, kind))
		}
	}
	err := validBranch("-x")
	if !errors.Is(err, ErrInvalid) || strings.HasPrefix(err.Error(), ErrInvalid.Error()) {
		t.Errorf("validBranch(-x) = %q", err)
	}
}
