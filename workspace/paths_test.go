package workspace

import "testing"

func TestValidPath(t *testing.T) {
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"a.txt", true},
		{"dir/sub/file", true},
		{"esc\x1bname", true},
		{".gitignore", true},
		{".github/workflows/ci.yml", true},
		{"x.git", true},
		{"", false},
		{"/etc/passwd", false},
		{"a//b", false},
		{"a/./b", false},
		{"../x", false},
		{"a/../../x", false},
		{"a/", false},
		{".git/config", false},
		{"sub/.git/hooks/x", false},
		{".GIT/config", false},
		{".Git", false},
		{"git~1/config", false},
		{"GIT~1", false},
		{".git./config", false},
		{".git /config", false},
		{".g\u200cit/config", false},
		{"\ufeff.git/config", false},
		{"a\x00b", false},
	} {
		if err := validPath(c.path); (err == nil) != c.ok {
			t.Errorf("validPath(%q) = %v, want ok %v", c.path, err, c.ok)
		}
	}
}

func TestSymlinkEscapes(t *testing.T) {
	for _, c := range []struct {
		path, target string
		ok           bool
	}{
		{"link", "a.txt", true},
		{"dir/link", "../a.txt", true},
		{"dir/sub/link", "../../b", true},
		{"dir/link", "./x/y", true},
		{"dir/link", "./x/../y", false},
		{"link", "s/../x", false},
		{"a/b/link", "../../c/d", true},
		{"a/b/link", "../../../c", false},
		{"link", "/etc/passwd", false},
		{"link", "../outside", false},
		{"dir/link", "../../outside", false},
		{"link", "a/../../b", false},
		{"link", "..", false},
		{"link", ".git/config", false},
		{"dir/link", "../.git", false},
		{"link", "", false},
		{"link", "C:\\x", false},
	} {
		why := symlinkEscapes(c.path, c.target)
		if (why == "") != c.ok {
			t.Errorf("symlinkEscapes(%q, %q) = %q, want ok %v", c.path, c.target, why, c.ok)
		}
	}
}
