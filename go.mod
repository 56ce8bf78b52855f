module github.com/clauderon/clauderon

go 1.26.0

require github.com/spf13/cobra v1.10.2

require (
	github.com/danieljoos/wincred v1.2.3 // indirect
	github.com/docker/docker v28.5.2+incompatible // indirect
	github.com/godbus/dbus/v5 v5.2.2 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	github.com/zalando/go-keyring v0.2.8 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/term v0.48.0 // indirect
)
