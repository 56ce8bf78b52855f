package kubernetes

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RequiredRules are the daemon's rights in its namespace, derived from what
// the Backend calls: the Role grants exactly these and CheckAccess checks
// exactly these, so the two cannot drift. Nothing is cluster-scoped and
// nothing touches Secrets: the token never lives in the cluster.
func RequiredRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		// A session is a Pod: Create, Inspect, List, Events (list+watch),
		// Start's and Stop's patches, Remove.
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "get", "list", "watch", "delete", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		// Streams are a POST (SPDY) or a GET (WebSocket) of the subresource.
		{APIGroups: []string{""}, Resources: []string{"pods/attach", "pods/exec", "pods/portforward"}, Verbs: []string{"create", "get"}},
		// A session's files (its settings, the proxy CA).
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "get", "list", "delete"}},
		// Workspaces survive a pod's restart.
		{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"create", "get", "list", "delete"}},
		// The gateway's ClusterIP, and doctor's look at its Deployment.
		{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list"}},
	}
}

// AccessCheck is one right of RequiredRules and whether the caller has it.
type AccessCheck struct {
	Group       string // "" is the core group
	Resource    string // e.g. "pods"
	Subresource string // e.g. "exec"; "" for none
	Verb        string
	Allowed     bool
	Reason      string // the authorizer's, when it gave one
}

// String is the right as kubectl auth can-i names it: "create pods/exec".
func (a AccessCheck) String() string {
	r := a.Resource
	if a.Subresource != "" {
		r += "/" + a.Subresource
	}
	if a.Group != "" {
		r += "." + a.Group
	}
	return a.Verb + " " + r
}

// CheckAccess asks the API server, with a SelfSubjectAccessReview per
// right, whether the Backend's identity has each right of RequiredRules in
// its namespace. Its error is for a review that could not be made; a
// missing right is an AccessCheck with Allowed false.
func (b *Backend) CheckAccess(ctx context.Context) ([]AccessCheck, error) {
	var out []AccessCheck
	for _, rule := range RequiredRules() {
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				r, sub, _ := strings.Cut(res, "/")
				for _, v := range rule.Verbs {
					rev := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
						ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: b.ns, Verb: v, Group: g, Resource: r, Subresource: sub},
					}}
					got, err := b.cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, rev, metav1.CreateOptions{})
					if err != nil {
						return nil, b.wrap(err, fmt.Sprintf("access review of %s %s", v, res))
					}
					out = append(out, AccessCheck{Group: g, Resource: r, Subresource: sub, Verb: v, Allowed: got.Status.Allowed, Reason: got.Status.Reason})
				}
			}
		}
	}
	return out, nil
}
