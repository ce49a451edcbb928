package host

import (
	"errors"
	"reflect"
	"unsafe"

	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/quic-go/quic-go"
)

// serverConfig reaches the quic.Config go-libp2p v0.51 uses for accepted
// connections. It has no accessor (only the dialing copy has one,
// ClientConfig), and without it a node receives data on connections it
// accepted through go-libp2p's 10 / 15 MiB windows, capping a 100 ms link
// at ~150 MB/s. The field is read by name and type, before any listener
// exists; if a go-libp2p upgrade renames it this returns an error and the
// caller keeps the defaults (TestWindows then fails, so the upgrade
// notices). Drop this file once go-libp2p takes a quic.Config option.
func serverConfig(cm *quicreuse.ConnManager) (*quic.Config, error) {
	f := reflect.ValueOf(cm).Elem().FieldByName("serverConfig")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*quic.Config]() {
		return nil, errors.New("go-libp2p's quicreuse.ConnManager has no serverConfig *quic.Config field")
	}
	conf := *(**quic.Config)(unsafe.Pointer(f.UnsafeAddr()))
	if conf == nil {
		return nil, errors.New("quicreuse.ConnManager.serverConfig is nil")
	}
	return conf, nil
}
