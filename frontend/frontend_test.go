package frontend

import (
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// maxColdLoad bounds what a first visit downloads: index.html and every
// file it loads, modules and what they import included.
const maxColdLoad = 600 << 10

// xtermVersion is the pinned @xterm/xterm in vendor/xterm.
const xtermVersion = "6.0.0"

var (
	// Static imports and re-exports, over several lines too:
	// import x from './a.js'; import {a,\n b} from "./b.js"; import './c.js';
	// export {x} from './d.js'.
	importRE = regexp.MustCompile(`(?m)^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]`)
	// import('./e.js').
	dynImportRE = regexp.MustCompile(`\bimport\(\s*['"]([^'"]+)['"]\s*\)`)
	scriptRE    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	srcRE       = regexp.MustCompile(`(?i)\bsrc\s*=\s*"([^"]+)"`)
	linkRE      = regexp.MustCompile(`(?i)<link\b[^>]*\bhref\s*=\s*"([^"]+)"`)
	// The CSP forbids inline styles and handlers; catch them here first.
	inlineRE = regexp.MustCompile(`(?i)<style\b|\sstyle\s*=|\son[a-z]+\s*=`)
	// HTML parsing sinks: everything the UI shows may come from a hostile
	// container, so the UI sets text with textContent and never parses
	// HTML at all.
	sinkRE = regexp.MustCompile(`\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|document\.writeln|DOMParser|createContextualFragment)\b`)
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(FS, name)
	if err != nil {
		t.Fatalf("the embedded FS lacks %s: %v", name, err)
	}
	return string(b)
}

// imports lists the files a module imports, resolved within FS.
func imports(t *testing.T, name, src string) []string {
	t.Helper()
	var out []string
	for _, re := range []*regexp.Regexp{importRE, dynImportRE} {
		for _, m := range re.FindAllStringSubmatch(src, -1) {
			spec := m[1]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				// A bare or absolute specifier needs an import map or a
				// bundler, neither of which the UI has.
				t.Errorf("%s imports %q: only relative paths resolve without a build step", name, spec)
				continue
			}
			out = append(out, path.Join(path.Dir(name), spec))
		}
	}
	return out
}

// loaded walks index.html's scripts and stylesheets and every module's
// imports, and answers the files a cold load fetches.
func loaded(t *testing.T) map[string]bool {
	t.Helper()
	html := read(t, "index.html")
	seen := map[string]bool{"index.html": true}
	var queue []string
	for _, m := range scriptRE.FindAllStringSubmatch(html, -1) {
		if strings.TrimSpace(m[2]) != "" {
			t.Errorf("index.html has an inline script; the CSP (script-src 'self') blocks it")
		}
		s := srcRE.FindStringSubmatch(m[1])
		if s == nil {
			t.Errorf("index.html has a <script> without src")
			continue
		}
		queue = append(queue, path.Clean(s[1]))
	}
	for _, m := range linkRE.FindAllStringSubmatch(html, -1) {
		if strings.HasPrefix(m[1], "data:") {
			continue // the empty favicon, so the browser asks for none
		}
		queue = append(queue, path.Clean(m[1]))
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		src := read(t, name)
		if strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".mjs") {
			queue = append(queue, imports(t, name, src)...)
		}
	}
	return seen
}

func TestIndexLoadsWhatExists(t *testing.T) {
	html := read(t, "index.html")
	if !strings.Contains(html, `<script type="module" src="js/app.js">`) {
		t.Errorf("index.html does not load js/app.js as a module")
	}
	if loc := inlineRE.FindStringIndex(html); loc != nil {
		t.Errorf("index.html has an inline style or handler %q; the CSP blocks it", html[loc[0]:loc[1]])
	}
	files := loaded(t)
	// Every view must be reachable from app.js, or the router breaks.
	for _, v := range []string{"sessions", "new", "session", "audit", "credential", "mcp", "doctor"} {
		if !files["js/views/"+v+".js"] {
			t.Errorf("js/views/%s.js is not imported from app.js", v)
		}
	}
	for _, f := range []string{"js/api.js", "js/events.js", "js/term.js", "js/dom.js", "css/app.css", "vendor/xterm/xterm.mjs", "vendor/xterm/xterm.css"} {
		if !files[f] {
			t.Errorf("%s is not loaded by index.html", f)
		}
	}
}

func TestImportParser(t *testing.T) {
	// The walk above is only as good as this parser: it must see every
	// form the modules use.
	src := "import { a,\n  b } from './x.js';\nimport * as y from \"../y.js\";\nimport './z.js';\nexport { c } from './c.js';\nconst m = import('./d.js');\n// not: the word import in a comment\n"
	got := imports(t, "js/views/v.js", src)
	sort.Strings(got)
	want := []string{"js/views/c.js", "js/views/d.js", "js/views/x.js", "js/views/z.js", "js/y.js"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("imports = %v, want %v", got, want)
	}
}

func TestColdLoadSize(t *testing.T) {
	var total int64
	var lines []string
	for name := range loaded(t) {
		fi, err := fs.Stat(FS, name)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
		lines = append(lines, name)
	}
	sort.Strings(lines)
	t.Logf("cold load: %d files, %d bytes (%.0f KiB): %s", len(lines), total, float64(total)/1024, strings.Join(lines, " "))
	if total > maxColdLoad {
		t.Errorf("a cold load fetches %d bytes, more than %d", total, maxColdLoad)
	}
}

func TestVendoredXterm(t *testing.T) {
	for _, f := range []string{"vendor/xterm/xterm.mjs", "vendor/xterm/xterm.css", "vendor/xterm/LICENSE", "vendor/xterm/VERSION",
		"vendor/addon-fit/addon-fit.mjs", "vendor/addon-fit/LICENSE", "vendor/addon-fit/VERSION"} {
		read(t, f)
	}
	if v := strings.TrimSpace(read(t, "vendor/xterm/VERSION")); v != xtermVersion {
		t.Errorf("vendor/xterm/VERSION = %q, want %q", v, xtermVersion)
	}
	if !strings.Contains(read(t, "vendor/xterm/LICENSE"), "MIT") {
		t.Errorf("vendor/xterm/LICENSE is not xterm.js's MIT licence")
	}
	if !strings.Contains(read(t, "vendor/xterm/xterm.mjs"), "as Terminal}") {
		t.Errorf("vendor/xterm/xterm.mjs does not export Terminal: not the ES module build")
	}
	if !strings.Contains(read(t, "vendor/addon-fit/addon-fit.mjs"), "as FitAddon}") {
		t.Errorf("vendor/addon-fit/addon-fit.mjs does not export FitAddon")
	}
}

// ownFiles are the UI's own JS and HTML files (the vendored ones are
// checked by their version, not by our rules).
func ownFiles(t *testing.T, exts ...string) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == "vendor" {
			return fs.SkipDir
		}
		for _, e := range exts {
			if !d.IsDir() && strings.HasSuffix(p, e) {
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no files found")
	}
	return out
}

func TestNoHTMLSinks(t *testing.T) {
	for _, name := range ownFiles(t, ".js", ".html") {
		src := read(t, name)
		for _, loc := range sinkRE.FindAllStringIndex(src, -1) {
			line := strings.Count(src[:loc[0]], "\n") + 1
			t.Errorf("%s:%d uses %s: set text with textContent (dom.js's h, text, clear) instead", name, line, src[loc[0]:loc[1]])
		}
	}
	if sinkRE.FindString("el.innerHTML = x") == "" || sinkRE.FindString("el.insertAdjacentHTML('a', x)") == "" {
		t.Fatal("the sink pattern misses what it is for")
	}
}

// TestJSSyntax runs node --check on every module. Each is copied to a .mjs
// name first: Node 20 silently passes a .js file with import statements
// and a syntax error (its module detection skips the check).
func TestJSSyntax(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CLAUDERON_REQUIRE_E2E") == "1" {
			t.Fatal("node is not installed, and CLAUDERON_REQUIRE_E2E=1 requires this check")
		}
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	var files []string
	err = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs")) {
			return err
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, src []byte) error {
		f := filepath.Join(dir, strings.NewReplacer("/", "_", ".js", ".mjs").Replace(name))
		if !strings.HasSuffix(f, ".mjs") {
			f += ".mjs"
		}
		if err := os.WriteFile(f, src, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(node, "--check", f).CombinedOutput()
		if err != nil {
			return &nodeError{name, string(out)}
		}
		return nil
	}
	for _, name := range files {
		b, _ := fs.ReadFile(FS, name)
		if err := check(name, b); err != nil {
			t.Error(err)
		}
	}
	// The check must be able to fail.
	if check("broken.js", []byte("import { a } from './a.js';\nexport const b = ;\n")) == nil {
		t.Fatal("node --check passed a module with a syntax error")
	}
}

type nodeError struct{ name, out string }

func (e *nodeError) Error() string { return "node --check " + e.name + ": " + e.out }

// TestPageHasItsCSP: index.html carries the web UI's policy itself, for the
// desktop app, where no server sends the header.
func TestPageHasItsCSP(t *testing.T) {
	b, err := fs.ReadFile(FS, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	want := `<meta http-equiv="Content-Security-Policy" content="default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'">`
	if !strings.Contains(string(b), want) {
		t.Errorf("index.html lacks %s", want)
	}
}
