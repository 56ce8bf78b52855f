package frontend

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// jsUnits checks the modules' pure logic under node: which form field a
// daemon error belongs to, the host an allow button adds, and the MCP
// snippets (as `clauderon mcp setup` prints them). Each line failing
// prints FAIL and the script exits non-zero.
const jsUnits = `
import { fieldFor } from './js/views/new.js';
import { hostOnly, oneClick } from './js/views/egress.js';
import { snippets } from './js/views/mcp.js';
import * as f from './js/format.js';

let failed = 0;
const eq = (what, got, want) => {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    failed++;
    console.log('FAIL ' + what + ': got ' + JSON.stringify(got) + ', want ' + JSON.stringify(want));
  }
};

eq('bad name', fieldFor('session name "A" is not valid: use 1 to 40 lowercase letters', 'invalid'), 'name');
eq('name taken', fieldFor('a session named "x" already exists; pick another name', 'exists'), 'name');
eq('prompt', fieldFor('the prompt contains a NUL byte (at byte 3)', 'invalid'), 'prompt');
for (const h of ['api.github.com', 'pypi.org', '8.8.8.8', '2001:4860:4860::8888']) eq('one click ' + h, oneClick(h), true);
for (const h of ['*.co.uk', '127.0.0.1', '10.0.0.5', '172.17.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST.', 'host.docker.internal', 'metadata.google.internal', '2130706433', '0x7f000001', '0.0.0.0']) eq('no one click ' + h, oneClick(h), false);
eq('egress mode', fieldFor('egress mode wide is not one of open, balanced, locked', 'invalid'), 'egress');
eq('host', fieldFor('http://x is not a host: give a name such as example.com', 'invalid'), 'allow');
eq('spawn image', fieldFor('spawn image X is not a valid image reference', 'invalid'), 'spawn');
eq('budget', fieldFor('a budget cannot be negative', 'invalid'), 'budget_usd');
eq('backend', fieldFor('the Kubernetes backend is not configured; add a kubernetes section to config.json', 'invalid'), 'backend');
eq('backend name', fieldFor('unknown backend "podman": want docker or kubernetes', 'invalid'), 'backend');
eq('image', fieldFor('image nosuch:1 is not present; build it', 'image'), 'image');
eq('unrelated', fieldFor('cannot reach the Docker engine', 'engine'), '');

eq('host:port', hostOnly('denied-web.example:443'), 'denied-web.example');
eq('bare host', hostOnly('example.com'), 'example.com');
eq('v6', hostOnly('[::1]:443'), '::1');

const s = snippets('http://127.0.0.1:18090/mcp', 'tok-en');
eq('stdio', s['claude-code-stdio'], 'claude mcp add --scope user clauderon -- clauderon mcp');
eq('http', s['claude-code-http'], "claude mcp add --scope user --transport http clauderon http://127.0.0.1:18090/mcp --header 'Authorization: Bearer tok-en'");
eq('desktop', JSON.parse(s['claude-desktop']), { clauderon: { command: 'clauderon', args: ['mcp'] } });
eq('quote', snippets("http://x/'y", 't')['claude-code-http'].includes("'http://x/'\\''y'"), true);

eq('activity', f.activity({ state: 'waiting_for_input', known: true }), 'waiting for input');
eq('activity tool', f.activity({ state: 'working', tool: 'Bash', known: true }), 'working: Bash');
eq('activity unknown', f.activity({ state: 'running', known: false }), 'running (activity unknown)');
eq('needs you', f.needsYou({ status: 'running', activity: { state: 'waiting_for_permission' } }), true);
eq('ended needs nobody', f.needsYou({ status: 'exited', activity: { state: 'waiting_for_input' } }), false);
eq('tail kept', f.keepTail('a\nbb\nccc\n', 5), 'ccc\n');
eq('short kept whole', f.keepTail('abc', 5), 'abc');
eq('a big log is cut', f.keepTail('x\n'.repeat(3 * 1024 * 1024)).length <= f.maxLog, true);
eq('changes', f.changes({ changes: { files: 2, unlanded: true } }), '+2 files');
eq('changes one', f.changes({ changes: { files: 1, unlanded: true, other_refs: ['x'] } }), '+1 file +branches');
eq('changes landed', f.changes({ changes: { files: 1 }, workspace: { landed: { at: '2026-12-01T10:00:00Z' } } }), 'landed');
eq('changes applied', f.changes({ changes: { files: 1 }, workspace: { landed: { at: '2026-12-01T10:00:00Z' }, applied: { at: '2026-12-01T11:00:00Z' } } }), 'applied');
eq('changes none', f.changes({ changes: { files: 0 } }), 'none');

if (failed) process.exit(1);
console.log('ok');
`

func TestJSUnits(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CLAUDERON_REQUIRE_E2E") == "1" {
			t.Fatal("node is not installed, and CLAUDERON_REQUIRE_E2E=1 requires this check")
		}
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	// The modules as the browser gets them, under a package.json that
	// makes node read .js files as modules.
	err = fs.WalkDir(FS, "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := fs.ReadFile(FS, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"package.json": `{"type":"module"}`, "units.js": jsUnits} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, "units.js")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("node units.js: %v\n%s", err, out)
	}
}
