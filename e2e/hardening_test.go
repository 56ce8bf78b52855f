package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/session"
)

// TestContainerHardened: a session's processes have no capability, not even
// in their bounding set, cannot gain privileges, run under an init process,
// and the engine holds the container to pids, memory and CPU limits (the
// defaults, and --cpus and --memory).
func TestContainerHardened(t *testing.T) {
	e := newSessionEnv(t)
	name := sname("hard")
	clOK(t, e.home, "create", "--name", name, "--image", e.image, "--no-workdir", "--cpus", "1.5", "--memory", "1g")
	for _, pid := range []string{"1", "self"} {
		status := inSession(t, name, "cat", "/proc/"+pid+"/status")
		for field, want := range map[string]string{"CapEff": "0000000000000000", "CapBnd": "0000000000000000", "CapPrm": "0000000000000000", "NoNewPrivs": "1"} {
			m := regexp.MustCompile(`(?m)^` + field + `:\s*(\S+)$`).FindStringSubmatch(status)
			if m == nil || m[1] != want {
				t.Errorf("/proc/%s/status %s = %v, want %s", pid, field, m, want)
			}
		}
	}
	if comm := strings.TrimSpace(inSession(t, name, "cat", "/proc/1/comm")); !strings.Contains(comm, "init") {
		t.Errorf("PID 1 is %q, want the engine's init", comm)
	}
	out, err := dockerCLI(t, "inspect", "--format", "{{json .HostConfig}}", session.ContainerName(name))
	if err != nil {
		t.Fatalf("docker inspect: %v %s", err, out)
	}
	var hc struct {
		CapDrop     []string
		SecurityOpt []string
		Init        *bool
		Memory      int64
		NanoCpus    int64
		PidsLimit   *int64
	}
	if err := json.Unmarshal([]byte(out), &hc); err != nil {
		t.Fatal(err)
	}
	switch {
	case len(hc.CapDrop) != 1 || hc.CapDrop[0] != "ALL":
		t.Errorf("CapDrop = %v", hc.CapDrop)
	case len(hc.SecurityOpt) != 1 || hc.SecurityOpt[0] != "no-new-privileges:true":
		t.Errorf("SecurityOpt = %v", hc.SecurityOpt)
	case hc.Init == nil || !*hc.Init:
		t.Error("the container has no init")
	case hc.Memory != 1<<30 || hc.NanoCpus != 1.5e9:
		t.Errorf("memory %d, nano CPUs %d; want 1 GiB and 1.5 CPUs", hc.Memory, hc.NanoCpus)
	case hc.PidsLimit == nil || *hc.PidsLimit != session.DefaultLimits().Pids:
		t.Errorf("pids limit %v, want %d", hc.PidsLimit, session.DefaultLimits().Pids)
	}
	s, _ := findSession(listSessions(t, e.home), name)
	if s.Limits.CPUs != 1.5 || s.Limits.MemoryBytes != 1<<30 {
		t.Errorf("the session reports limits %+v", s.Limits)
	}
	for _, bad := range [][]string{{"--cpus=-1"}, {"--cpus", "999"}, {"--memory", "10m"}, {"--memory", "lots"}} {
		if _, errOut, code := cl(t, e.home, append([]string{"create", "--name", sname("hard-bad"), "--image", e.image, "--no-workdir"}, bad...)...); code == 0 || !strings.Contains(errOut, strings.Split(bad[0], "=")[0]) {
			t.Errorf("create %v: exit %d, %s", bad, code, errOut)
		}
	}
}
