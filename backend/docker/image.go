package docker

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"

	"github.com/clauderon/clauderon/backend"
)

// Images lists the engine's local images, one per tag (untagged ones are
// left out: nothing can name them), sorted by tag.
func (b *Backend) Images(ctx context.Context) ([]backend.Image, error) {
	list, err := b.cli.ImageList(ctx, image.ListOptions{})
	if err != nil {
		return nil, b.wrap(err, "list images")
	}
	var out []backend.Image
	for _, im := range list {
		for _, tag := range im.RepoTags {
			if tag == "" || strings.HasPrefix(tag, "<none>") {
				continue
			}
			out = append(out, backend.Image{Ref: tag, ID: im.ID, Created: time.Unix(im.Created, 0).UTC(), Size: im.Size})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}

// ImageExists reports whether the engine has the image ref.
func (b *Backend) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := b.cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err) && !unreachable(err):
		return false, nil
	}
	return false, b.wrap(err, "inspect image "+ref)
}

// ImageID returns the engine's ID of the image ref.
func (b *Backend) ImageID(ctx context.Context, ref string) (string, error) {
	info, err := b.cli.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) && !unreachable(err) {
			return "", fmt.Errorf("%w: %s", backend.ErrImageNotFound, ref)
		}
		return "", b.wrap(err, "inspect image "+ref)
	}
	return info.ID, nil
}

// RemoveImage deletes the image ref (untagging it if other tags share it).
func (b *Backend) RemoveImage(ctx context.Context, ref string) error {
	_, err := b.cli.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
	if err != nil && cerrdefs.IsNotFound(err) && !unreachable(err) {
		return fmt.Errorf("remove image: %w: %s", backend.ErrImageNotFound, ref)
	}
	return b.wrap(err, "remove image "+ref)
}

// BuildImage builds contextDir with the Dockerfile at dockerfile (relative to
// contextDir; "" means "Dockerfile") and tags the result tag. progress, if not
// nil, receives the build's output line by line.
func (b *Backend) BuildImage(ctx context.Context, contextDir, dockerfile, tag string, progress func(line string)) error {
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, contextDir)) }()
	defer pr.Close()

	resp, err := b.cli.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  dockerfile,
		Remove:      true,
		ForceRemove: true,
	})
	if err != nil {
		return b.wrap(err, "build "+tag)
	}
	defer resp.Body.Close()
	if err := readMessages(resp.Body, progress, false); err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	return nil
}

// PullImage pulls ref from its registry. progress, if not nil, receives one
// line per layer status change.
func (b *Backend) PullImage(ctx context.Context, ref string, progress func(line string)) error {
	rc, err := b.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) && !unreachable(err) {
			return fmt.Errorf("pull: %w: %s", backend.ErrImageNotFound, ref)
		}
		return b.wrap(err, "pull "+ref)
	}
	defer rc.Close()
	if err := readMessages(rc, progress, true); err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	return nil
}

// ImportImage creates the image ref from a root filesystem tarball, like `docker import - ref`.
func (b *Backend) ImportImage(ctx context.Context, rootfs io.Reader, ref string, progress func(line string)) error {
	rc, err := b.cli.ImageImport(ctx, image.ImportSource{Source: rootfs, SourceName: "-"}, ref, image.ImportOptions{})
	if err != nil {
		return b.wrap(err, "import "+ref)
	}
	defer rc.Close()
	if err := readMessages(rc, progress, true); err != nil {
		return fmt.Errorf("import %s: %w", ref, err)
	}
	return nil
}

// message is one JSON object of the engine's build, pull and import streams.
type message struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	ID          string `json:"id"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readMessages turns the engine's JSON messages into lines for progress and
// returns the error the stream reports, if any. With dedupe, repeated
// statuses of one layer (download progress ticks) are reported once.
func readMessages(r io.Reader, progress func(string), dedupe bool) error {
	if progress == nil {
		progress = func(string) {}
	}
	last := map[string]string{}
	var partial string
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("reading engine output: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if m.Stream != "" {
			// Build output arrives in chunks that need not end at line ends.
			partial += m.Stream
			for {
				i := strings.IndexByte(partial, '\n')
				if i < 0 {
					break
				}
				if line := strings.TrimRight(partial[:i], "\r"); line != "" {
					progress(line)
				}
				partial = partial[i+1:]
			}
		}
		if m.Status != "" {
			if dedupe && last[m.ID] == m.Status {
				continue
			}
			last[m.ID] = m.Status
			if m.ID != "" {
				progress(m.ID + ": " + m.Status)
			} else {
				progress(m.Status)
			}
		}
	}
	if line := strings.TrimSpace(partial); line != "" {
		progress(line)
	}
	return nil
}

// writeTar writes dir as a tar stream: regular files, directories and
// symlinks (kept as links, as the engine expects of a build context).
func writeTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, devices: nothing a build context needs
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
		}
		// The build must not depend on who owns the files on this host.
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return fmt.Errorf("build context %s: %w", dir, err)
	}
	return tw.Close()
}
