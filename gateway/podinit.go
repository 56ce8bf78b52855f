package gateway

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// PodInit is what a session pod's init container runs (`clauderon
// pod-init`, from the gateway's image): with --install DST it copies its
// own binary to DST, where the session's container runs it for its hooks;
// each --copy SRC=DST copies a file given in the pod's ConfigMap (mounted
// read-only) to where the container may rewrite it. It reads and writes
// only the paths it is given, and follows no symlink in a destination.
func PodInit(args []string) error {
	var install string
	var copies [][2]string
	for i := 0; i < len(args); i++ {
		if i+1 >= len(args) {
			return fmt.Errorf("pod-init: %s needs a value", args[i])
		}
		switch args[i] {
		case "--install":
			install = args[i+1]
		case "--copy":
			src, dst, ok := strings.Cut(args[i+1], "=")
			if !ok || !filepath.IsAbs(src) || !filepath.IsAbs(dst) {
				return fmt.Errorf("pod-init: --copy %q: want SRC=DST, both absolute", args[i+1])
			}
			copies = append(copies, [2]string{src, dst})
		default:
			return fmt.Errorf("pod-init: unknown argument %q", args[i])
		}
		i++
	}
	if install != "" {
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("pod-init: %w", err)
		}
		if err := copyFile(self, install, 0o755); err != nil {
			return err
		}
	}
	for _, c := range copies {
		if err := copyFile(c[0], c[1], 0o600); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("pod-init: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode) // O_EXCL: never through a symlink
	if err != nil {
		return fmt.Errorf("pod-init: %w", err)
	}
	_, err = io.Copy(out, in)
	err = errors.Join(err, out.Close())
	if err != nil {
		return fmt.Errorf("pod-init: writing %s: %w", dst, err)
	}
	return nil
}
