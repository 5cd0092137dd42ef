// Command etcd is the etcd server, built from the published go.etcd.io/etcd/server/v3
// module (whose own go.mod uses local replace lines, so `go install` cannot build it).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
