package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/kubernetes"
)

// K8sSetup is what `clauderon k8s setup` installs, and where. The flags
// fill it; the defaults a caller gives (config.json's kubernetes section)
// apply to each flag not given.
type K8sSetup struct {
	Kubeconfig   string
	Context      string
	Namespace    string
	GatewayImage string
	BindUsers    []string
	Apply        bool
	// Wait bounds the wait for the gateway after --apply.
	Wait time.Duration
}

// newK8sCmd is `clauderon k8s`; defaults, when not nil, is asked at run
// time for the values of flags the user did not give.
func newK8sCmd(defaults func() K8sSetup) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Set up a Kubernetes cluster for sessions",
	}
	var s K8sSetup
	setup := &cobra.Command{
		Use:   "setup",
		Short: "Print (or --apply) the namespace, RBAC, gateway and NetworkPolicies that sessions on Kubernetes need",
		Long: `Prints, as YAML for kubectl apply -f, or applies with --apply:
the namespace (enforcing the "restricted" Pod Security Standard), the
ServiceAccount "clauderon" and the least Role the daemon needs (no Secrets,
nothing cluster-scoped), the gateway's Deployment and Service, and the
NetworkPolicies that let session pods reach only the gateway.
--apply needs a cluster admin's rights, once; the daemon then needs only the Role.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if defaults != nil {
				s = mergeK8sDefaults(cmd, s, defaults())
			}
			return runK8sSetup(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), s)
		},
	}
	f := setup.Flags()
	f.StringVar(&s.Namespace, "namespace", kubernetes.DefaultNamespace, "namespace for sessions and the gateway")
	f.StringVar(&s.Context, "context", "", "kubeconfig context (default: its current context)")
	f.StringVar(&s.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	f.StringVar(&s.GatewayImage, "gateway-image", "", "the gateway's image (default: clauderon-gateway:VERSION; scripts/k8s/gateway-image.sh builds one)")
	f.StringSliceVar(&s.BindUsers, "bind-user", nil, "also bind the Role to this kube user (the daemon's own identity), repeatable")
	f.BoolVar(&s.Apply, "apply", false, "apply to the cluster instead of printing, then wait for the gateway")
	f.DurationVar(&s.Wait, "wait", 2*time.Minute, "with --apply, how long to wait for the gateway to be available")
	cmd.AddCommand(setup)
	return cmd
}

// mergeK8sDefaults takes d's value for each flag the user did not give.
func mergeK8sDefaults(cmd *cobra.Command, s, d K8sSetup) K8sSetup {
	ch := cmd.Flags().Changed
	str := func(flag string, v *string, dv string) {
		if !ch(flag) && dv != "" {
			*v = dv
		}
	}
	str("namespace", &s.Namespace, d.Namespace)
	str("context", &s.Context, d.Context)
	str("kubeconfig", &s.Kubeconfig, d.Kubeconfig)
	str("gateway-image", &s.GatewayImage, d.GatewayImage)
	if !ch("bind-user") && len(d.BindUsers) > 0 {
		s.BindUsers = d.BindUsers
	}
	if !ch("wait") && d.Wait > 0 {
		s.Wait = d.Wait
	}
	return s
}

func runK8sSetup(ctx context.Context, stdout, stderr io.Writer, s K8sSetup) error {
	objs := kubernetes.Manifests(kubernetes.SetupOptions{
		Namespace:    s.Namespace,
		GatewayImage: s.GatewayImage,
		Version:      thisVersion().Version,
		BindUsers:    s.BindUsers,
	})
	if !s.Apply {
		y, err := kubernetes.YAML(objs)
		if err != nil {
			return err
		}
		if _, err := stdout.Write(y); err != nil {
			return err
		}
		fmt.Fprintln(stderr, "apply it with kubectl apply -f, or run clauderon k8s setup --apply")
		return nil
	}
	b, err := kubernetes.New(kubernetes.Config{Kubeconfig: s.Kubeconfig, Context: s.Context, Namespace: s.Namespace})
	if err != nil {
		return k8sSetupError(err, s)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	v, err := b.ServerVersion(pctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("the Kubernetes API server did not answer within 15s: %w; is the cluster up, and is --context/--kubeconfig the right one?", err)
		}
		return k8sSetupError(err, s)
	}
	fmt.Fprintf(stderr, "applying to Kubernetes %s, namespace %s\n", printable(v.GitVersion), b.Namespace())
	if err := b.Apply(ctx, objs, func(line string) { fmt.Fprintln(stdout, line) }); err != nil {
		return k8sSetupError(err, s)
	}
	wctx, cancel := context.WithTimeout(ctx, s.Wait)
	defer cancel()
	if err := b.WaitGateway(wctx, func(line string) { fmt.Fprintln(stderr, printable(line)) }); err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("the gateway was not available within %s: %w; look at kubectl -n %s describe deployment %s", s.Wait, err, b.Namespace(), kubernetes.GatewayName)
		}
		return k8sSetupError(err, s)
	}
	st, err := b.GatewayStatus(ctx)
	if err != nil {
		return k8sSetupError(err, s)
	}
	fmt.Fprintf(stderr, "the gateway is available at %s:%d\n", st.ClusterIP, kubernetes.GatewayPort)
	fmt.Fprintf(stderr, "next: sessions on it with clauderon create --backend kubernetes (namespace %s); clauderon doctor checks the rights, the gateway and the tunnel\n", b.Namespace())
	return nil
}

// k8sSetupError says what to do about the common failures.
func k8sSetupError(err error, s K8sSetup) error {
	where := "the current context"
	if s.Context != "" {
		where = "context " + s.Context
	}
	switch {
	// clientcmd's validation words it differently from IsContextNotFound's error.
	case clientcmd.IsContextNotFound(err), s.Context != "" && strings.Contains(err.Error(), fmt.Sprintf("context %q does not exist", s.Context)):
		return fmt.Errorf("kubeconfig has no context %q: list them with kubectl config get-contexts, or pass --context: %w", s.Context, err)
	case clientcmd.IsEmptyConfig(err), strings.Contains(err.Error(), clientcmd.ErrEmptyConfig.Error()):
		return fmt.Errorf("no kubeconfig found: pass --kubeconfig or set $KUBECONFIG: %w", err)
	case errors.Is(err, backend.ErrEngineUnreachable):
		return fmt.Errorf("%w; is the cluster up, and is %s (--context, --kubeconfig) the right one?", err, where)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("the cluster did not accept %s's credentials (expired?): %w", where, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("the cluster refused (forbidden): setup makes a namespace and RBAC objects, which needs a cluster admin; run it with an admin's --context, or hand an admin the YAML of clauderon k8s setup: %w", err)
	}
	return err
}
