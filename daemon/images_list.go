package daemon

import (
	"context"
	"net/http"
	"slices"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/session"
)

// imageLister is an engine that can list its local images (Docker's can).
// An engine without it is asked about the images clauderon knows of (the
// default and those sessions run).
type imageLister interface {
	Images(ctx context.Context) ([]backend.Image, error)
}

// imageIDer tells an image's ID (the Docker engine does).
type imageIDer interface {
	ImageID(ctx context.Context, ref string) (string, error)
}

// Images lists the engine's local images.
func (d *Daemon) Images(ctx context.Context) ([]api.Image, error) {
	if l, ok := d.cfg.Backend.(imageLister); ok {
		imgs, err := l.Images(ctx)
		if err != nil {
			return nil, session.Errorf(session.ErrEngine, "listing images: %v", err)
		}
		out := []api.Image{}
		for _, im := range imgs {
			out = append(out, api.Image{Ref: im.Ref, ID: im.ID, Created: im.Created, Size: im.Size})
		}
		return out, nil
	}
	refs := []string{session.DefaultImage}
	for _, s := range d.sessions.List() {
		refs = append(refs, s.Image)
	}
	slices.Sort(refs)
	out := []api.Image{}
	for _, ref := range slices.Compact(refs) {
		if ref == "" {
			continue
		}
		ok, err := d.cfg.Backend.ImageExists(ctx, ref)
		if err != nil {
			return nil, session.Errorf(session.ErrEngine, "looking for image %s: %v", ref, err)
		}
		if !ok {
			continue
		}
		img := api.Image{Ref: ref}
		if idr, ok := d.cfg.Backend.(imageIDer); ok {
			img.ID, _ = idr.ImageID(ctx, ref) // the ref alone is still of use
		}
		out = append(out, img)
	}
	return out, nil
}

// listImages serves GET /images.
func (d *Daemon) listImages(w http.ResponseWriter, r *http.Request) error {
	imgs, err := d.Images(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.ImageList{Images: imgs})
	return nil
}
