package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/testimage"
	"github.com/clauderon/clauderon/session"
)

// derivedImage builds, once per content (its tag is a hash), an image FROM
// base whose Dockerfile ends with steps.
func derivedImage(t *testing.T, base, steps string) string {
	t.Helper()
	df := "FROM " + base + "\n" + steps + "\n"
	sum := sha256.Sum256([]byte(df))
	tag := "clauderon-test-derived:" + hex.EncodeToString(sum[:])[:16]
	if _, err := dockerCLI(t, "image", "inspect", tag); err == nil {
		return tag
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := dockerCLI(t, "build", "-q", "-t", tag, dir); err != nil {
		t.Fatalf("docker build %s: %v\n%s", tag, err, out)
	}
	return tag
}

// rootImage is the other-user test image with USER root and no user of
// uid 1000 at all, so the fallback user has no name in it.
func rootImage(t *testing.T) string {
	return derivedImage(t, testimage.EnsureOtherUser(t), "USER root\nRUN userdel --remove claude")
}

// lines splits a command's output into trimmed lines.
func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

// TestImageUserSessions: a session of an image whose user is not claude
// runs as that user, in its home, and writes its workspace; a session of an
// image whose user is root runs as uid 1000 in a home clauderon made; Claude
// Code answers in both.
func TestImageUserSessions(t *testing.T) {
	e := newSessionEnv(t)
	other := testimage.EnsureOtherUser(t)
	rooty := rootImage(t)
	uid := strconv.Itoa(testimage.OtherUID)

	own := sname("iu-own")
	clOK(t, e.home, "create", "--name", own, "--image", other, "--workdir", workdir(t))
	got := lines(agentSh(t, own, `id -un; id -u; id -g; echo "$HOME"; test -w "$HOME" && echo home-writable
test -w "$HOME/.claude.json" && echo cfg-writable; echo by-agent > /workspace/by-agent.txt && echo ws-writable`))
	want := []string{testimage.OtherUser, uid, uid, "/home/" + testimage.OtherUser, "home-writable", "cfg-writable", "ws-writable"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("in a session of %s:\n got %q\nwant %q", other, got, want)
	}
	if b, err := os.ReadFile(filepath.Join(wsDir(e.home, own), "by-agent.txt")); err != nil || string(b) != "by-agent\n" {
		t.Errorf("the agent's file in the host workspace: %q, %v", b, err)
	}
	if out, err := dockerCLI(t, "inspect", "--format", "{{.Config.User}}", session.ContainerName(own)); err != nil || strings.TrimSpace(out) != uid+":"+uid {
		t.Errorf("the container's Config.User = %q (%v), want %s:%s", out, err, uid, uid)
	}
	s, _ := findSession(listSessions(t, e.home), own)
	if s.User != (session.User{Name: testimage.OtherUser, UID: testimage.OtherUID, GID: testimage.OtherUID, Home: "/home/" + testimage.OtherUser}) {
		t.Errorf("the session reports user %+v", s.User)
	}

	fb := sname("iu-root")
	clOK(t, e.home, "create", "--name", fb, "--image", rooty, "--workdir", workdir(t))
	got = lines(agentSh(t, fb, `id -u; id -g; echo "$HOME"; stat -c '%u:%g %a' "$HOME"; touch "$HOME/x" && echo home-writable
echo by-fallback > /workspace/by-fallback.txt && echo ws-writable`))
	want = []string{"1000", "1000", session.FallbackHome, "1000:1000 700", "home-writable", "ws-writable"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("in a session of %s (USER root):\n got %q\nwant %q", rooty, got, want)
	}
	if s, _ := findSession(listSessions(t, e.home), fb); !s.User.Fallback || s.User.UID != 1000 || s.User.Home != session.FallbackHome {
		t.Errorf("the fallback session reports user %+v", s.User)
	}

	// Claude Code itself runs as either user and keeps its state in $HOME.
	for _, c := range []struct{ base, image, home string }{
		{"iu-print", other, "/home/" + testimage.OtherUser},
		{"iu-rprint", rooty, session.FallbackHome},
	} {
		name := sname(c.base)
		out := clOK(t, e.home, "create", "--name", name, "--prompt", "say hello", "--print", "--wait", "--image", c.image, "--workdir", workdir(t))
		if !strings.Contains(out, fakeanthropic.DefaultReply) {
			t.Errorf("a print session of %s printed %q, want the fake's reply", c.image, out)
		}
		diff, err := dockerCLI(t, "diff", session.ContainerName(name))
		if err != nil || !strings.Contains(diff, c.home+"/.claude") {
			t.Errorf("Claude Code wrote nothing under %s/.claude (docker diff: %v)\n%s", c.home, err, diff)
		}
	}
}

// TestDoctorImage: doctor --image says who sessions of an image run as and
// whether claude is on its PATH, for a good image, one whose user is root,
// one without claude, one whose USER is not in its passwd, and a missing one.
func TestDoctorImage(t *testing.T) {
	e := newSessionEnv(t)
	other := testimage.EnsureOtherUser(t)
	rooty := rootImage(t)
	ghostly := derivedImage(t, e.image, "USER ghost")
	missing := "clauderon-test-no-such-image:none"

	doctor := func(image string) (string, int, api.Doctor) {
		out, errOut, code := cl(t, e.home, "doctor", "--image", image)
		var rep api.Doctor
		js, _, _ := cl(t, e.home, "doctor", "--image", image, "--json")
		if err := json.Unmarshal([]byte(js), &rep); err != nil {
			t.Fatalf("doctor --image %s --json: %v\n%s", image, err, js)
		}
		return out + errOut, code, rep
	}
	tests := []struct {
		image string
		ok    bool
		want  []string
	}{
		{other, true, []string{
			"ok    user         sessions run as the image's user agent (uid 1001, gid 1001), HOME /home/agent\n",
			"ok    claude       claude ", "(Claude Code) is on the image's PATH", "ok    proxy"}},
		{rooty, true, []string{
			"ok    user         the image's USER root is root: sessions run as uid 1000, gid 1000 instead, HOME /home/clauderon, which clauderon makes",
			"ok    claude", "ok    proxy"}},
		{testimage.BaseImage, false, []string{
			"ok    user         the image names no USER, so it would run as root: sessions run as uid 1000",
			"FAIL  claude       claude is not on the PATH of " + testimage.BaseImage, "fix: install Claude Code in the image",
			"ok    proxy        not checked from " + testimage.BaseImage + ", which has no curl"}},
		{ghostly, false, []string{
			`FAIL  user         image ` + ghostly + `: image user unusable: the image's USER "ghost" is not in its /etc/passwd`,
			"fix: make the image's USER a user of its /etc/passwd",
			"FAIL  claude       not checked", "FAIL  proxy        not checked"}},
		{missing, false, []string{
			"FAIL  image        " + missing + " is not present", "fix: pull it with `clauderon image pull " + missing + "`",
			"FAIL  user         not checked", "FAIL  claude       not checked"}},
	}
	for _, tt := range tests {
		out, code, rep := doctor(tt.image)
		if (code == 0) != tt.ok || rep.OK != tt.ok {
			t.Errorf("doctor --image %s: exit %d, json ok %v; want ok %v\n%s", tt.image, code, rep.OK, tt.ok, out)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("doctor --image %s lacks %q:\n%s", tt.image, w, out)
			}
		}
	}

	// What doctor finds wrong, create refuses with the same reason.
	_, errOut, code := cl(t, e.home, "create", "--name", sname("iu-ghost"), "--image", ghostly, "--no-workdir")
	if code == 0 || !strings.Contains(errOut, `"ghost" is not in its /etc/passwd`) || !strings.Contains(errOut, "doctor --image") {
		t.Errorf("create with an image whose USER is missing: exit %d, %s", code, errOut)
	}
}
