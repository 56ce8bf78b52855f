// Package benchutil is what the benchmark commands (sessionbench, k8sbench)
// share: timing a clauderon or docker command against a home, running one
// quietly between measurements, and reading the daemon's memory.
package benchutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// TimeCmd runs name with args for CLAUDERON_HOME home and says how long it
// took; a command with --print must print the fake upstream's reply.
func TimeCmd(home, name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+home)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v\n%q", name, strings.Join(args, " "), err, out.String())
	}
	if strings.Contains(strings.Join(args, " "), "--print") && !strings.Contains(out.String(), fakeanthropic.DefaultReply) {
		return 0, fmt.Errorf("%s %s did not print the fake's reply:\n%q", name, args[0], out.String())
	}
	return d, nil
}

// Quiet runs a set-up or clean-up command between measurements.
func Quiet(home, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %q", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// RSS is the daemon's pid and resident set (KiB), from /proc.
func RSS(ctx context.Context, cl *client.Client) (pid, kb int, err error) {
	st, err := cl.Status(ctx)
	if err != nil {
		return 0, 0, err
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.PID))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			_, err := fmt.Sscan(f[1], &kb)
			return st.PID, kb, err
		}
	}
	return 0, 0, errors.New("no VmRSS")
}
