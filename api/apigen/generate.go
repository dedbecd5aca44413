// Package apigen holds the Go types and the Echo server interface generated
// by oapi-codegen from the API's contract, api/openapi.yaml. Nothing here is
// written by hand: edit the document and run `make generate`.
package apigen

//go:generate go tool oapi-codegen -config config.yaml ../openapi.yaml
