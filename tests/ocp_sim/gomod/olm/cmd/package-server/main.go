// Command package-server runs OLM's PackageManifest API (packages.operators.coreos.com/v1) as a
// local process of the test bed, built from OLM's own packageserver packages.
//
// Upstream's cmd/package-server cannot run outside a cluster: in v0.46.0 its options configure
// delegated authentication twice and delegated authorization never against --kubeconfig, so the
// authorization setup falls back to the in-cluster config and retries forever. Here delegation is
// switched off altogether (every request is allowed), which is acceptable only because the server
// listens on a loopback address of a throwaway test bed. The flag set is small on purpose: the
// test bed passes exactly these, and nothing of the in-cluster deployment (TLS profile lookup on
// the OpenShift APIServer object, client CA, request-header delegation) is needed.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/spf13/pflag"
	"k8s.io/component-base/logs"
	"k8s.io/klog/v2"

	olmversion "github.com/operator-framework/operator-lifecycle-manager/pkg/version"

	"github.com/operator-framework/operator-lifecycle-manager/pkg/lib/signals"
	"github.com/operator-framework/operator-lifecycle-manager/pkg/package-server/server"
)

func main() {
	fs := pflag.NewFlagSet("package-server", pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: %s --kubeconfig FILE --tls-cert-file FILE --tls-private-key-file FILE [flags]\n\n"+
			"Serves packages.operators.coreos.com/v1 PackageManifests built from the CatalogSources of the\n"+
			"cluster (all namespaces; those in --global-namespace are listed in every namespace). Requests are\n"+
			"neither authenticated nor authorized: for a local test bed only.\n\n", os.Args[0])
		fs.PrintDefaults()
	}
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster whose CatalogSources are served (required)")
	globalNamespace := fs.String("global-namespace", "openshift-marketplace",
		"namespace whose CatalogSources are global: their packages are listed in every namespace")
	bindAddress := fs.IP("bind-address", net.ParseIP("127.0.0.1"), "address to serve HTTPS on")
	securePort := fs.Int("secure-port", 5443, "port to serve HTTPS on (1-65535)")
	certFile := fs.String("tls-cert-file", "", "serving certificate, PEM (required)")
	keyFile := fs.String("tls-private-key-file", "", "private key of --tls-cert-file, PEM (required)")
	minTLS := fs.String("tls-min-version", "VersionTLS12", "minimum TLS version, e.g. VersionTLS12 or VersionTLS13")
	interval := fs.Duration("interval", server.DefaultWakeupInterval,
		"re-sync interval for CatalogSources (an OLMConfig 'cluster' with spec.features.packageServerSyncInterval overrides it)")
	debug := fs.Bool("debug", false, "debug log level")
	verbosity := fs.Int("v", 0, "klog verbosity of the embedded API server")
	showVersion := fs.Bool("version", false, "print the OLM version and exit")

	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if *showVersion {
		fmt.Print(olmversion.String())
		return
	}
	var missing []string
	for _, f := range []struct{ name, value string }{
		{"--kubeconfig", *kubeconfig}, {"--tls-cert-file", *certFile}, {"--tls-private-key-file", *keyFile},
	} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "package-server: missing %v\n", missing)
		fs.Usage()
		os.Exit(2)
	}

	klogFlags := flag.NewFlagSet("klog", flag.ExitOnError)
	klog.InitFlags(klogFlags)
	_ = klogFlags.Set("v", strconv.Itoa(*verbosity))
	logs.InitLogs()
	defer logs.FlushLogs()

	o := server.NewPackageServerOptions(os.Stdout, os.Stderr)
	o.Kubeconfig = *kubeconfig
	o.GlobalNamespace = *globalNamespace
	o.DefaultSyncInterval = *interval
	o.CurrentSyncInterval = *interval
	o.Debug = *debug
	o.DisableAuthForTesting = true
	o.SecureServing.BindAddress = *bindAddress
	o.SecureServing.BindPort = *securePort
	o.SecureServing.Required = true
	o.SecureServing.ServerCert.CertKey.CertFile = *certFile
	o.SecureServing.ServerCert.CertKey.KeyFile = *keyFile
	// Set, so that Run does not look up the cluster's TLS profile on config.openshift.io/APIServer.
	o.SecureServing.MinTLSVersion = *minTLS
	if errs := o.SecureServing.Validate(); len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "package-server: %v\n", errs)
		os.Exit(2)
	}

	if err := o.Run(signals.Context()); err != nil {
		fmt.Fprintf(os.Stderr, "package-server: %v\n", err)
		logs.FlushLogs()
		os.Exit(1)
	}
}
