package desktop

//go:generate go run icon_gen.go
