// Package block stores and moves blocks between executors: shuffle map outputs,
// kept as the bytes the map task encoded, and cached dataset partitions, kept
// deserialised in memory and encoded only when another executor asks for them (by
// the block server's own goroutines, which is the path the registrator-transport
// scenario exercises). Block ids follow Spark's: shuffle_S_M_R and rdd_D_P.
package block

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// ShuffleID names map partition m's output for reduce partition r of shuffle s.
func ShuffleID(s, m, r int) string { return fmt.Sprintf("shuffle_%d_%d_%d", s, m, r) }

// CacheID names partition p of cached dataset d.
func CacheID(d, p int) string { return fmt.Sprintf("rdd_%d_%d", d, p) }

// header: magic "FB", version 1, 8-byte registry fingerprint, registry size
// (uvarint), record count (uvarint).
const (
	magic0, magic1 = 'F', 'B'
	version        = 1
)

// maxTypes bounds the registry size a header may announce.
const maxTypes = 1 << 20

// Header describes an encoded block.
type Header struct {
	Fingerprint uint64
	Types       int
	Count       int
}

// ErrCorrupt marks bytes that are not a block.
var ErrCorrupt = errors.New("corrupt block")

// MismatchError is a block written with another registry than the reader's,
// detected by the registry-fingerprint safeguard.
type MismatchError struct {
	Block           string
	Writer          Header
	ReaderPrint     uint64
	ReaderTypes     int
	WriterDescribed string
}

func (e *MismatchError) Error() string {
	hint := "same number of types in another order"
	switch d := e.ReaderTypes - e.Writer.Types; {
	case d > 0:
		hint = fmt.Sprintf("the writer has %d fewer types: its registrator did not run", d)
	case d < 0:
		hint = fmt.Sprintf("the writer has %d more types", -d)
	}
	return fmt.Sprintf("block %s was encoded with codec registry %016x (%d types) but this reader's registry is %016x (%d types): %s",
		e.Block, e.Writer.Fingerprint, e.Writer.Types, e.ReaderPrint, e.ReaderTypes, hint)
}

// Kind is the failure type reported to the driver.
func (e *MismatchError) Kind() string { return "RegistryMismatchException" }

// Encode writes records with a header naming the registry.
func Encode(reg *codec.Registry, recs []any) ([]byte, error) {
	f, err := EncodeFrame(reg, recs)
	if err != nil {
		return nil, err
	}
	return f.Payload(), nil
}

// EncodeFrame is Encode, with the block left as the payload of a block-data
// frame: what a block server sends, in one write from where the block is
// kept (see wire.Frame). The block is copied once behind its header, as
// Encode would copy it anyway.
func EncodeFrame(reg *codec.Registry, recs []any) (wire.Frame, error) {
	w := codec.NewWriter(reg, make([]byte, 0, 64+32*len(recs)))
	for i, v := range recs {
		if err := w.WriteValue(v); err != nil {
			return wire.Frame{}, fmt.Errorf("encode record %d: %w", i, err)
		}
	}
	body := w.Bytes()
	buf := make([]byte, wire.HeaderLen, wire.HeaderLen+32+len(body))
	buf = append(buf, magic0, magic1, version)
	buf = binary.LittleEndian.AppendUint64(buf, reg.Fingerprint())
	buf = binary.AppendUvarint(buf, uint64(reg.Len()))
	buf = binary.AppendUvarint(buf, uint64(len(recs)))
	return wire.FrameIn(rpc.MsgBlockData, append(buf, body...)), nil
}

// ReadHeader parses a block's header and returns the rest.
func ReadHeader(data []byte) (Header, []byte, error) {
	if len(data) < 11 || data[0] != magic0 || data[1] != magic1 || data[2] != version {
		return Header{}, nil, fmt.Errorf("%w: bad magic or version", ErrCorrupt)
	}
	h := Header{Fingerprint: binary.LittleEndian.Uint64(data[3:11])}
	rest := data[11:]
	types, n := binary.Uvarint(rest)
	if n <= 0 || types > maxTypes {
		return Header{}, nil, fmt.Errorf("%w: bad registry size", ErrCorrupt)
	}
	rest = rest[n:]
	count, n := binary.Uvarint(rest)
	if n <= 0 || count > uint64(len(rest)) {
		return Header{}, nil, fmt.Errorf("%w: bad record count", ErrCorrupt)
	}
	h.Types, h.Count = int(types), int(count)
	return h, rest[n:], nil
}

// Decode reads a block's records with reg. With verify, a block whose header names
// another registry is refused with a *MismatchError before any record is read.
//
// On a decoding error it returns the records read before it along with the
// error: Spark deserialises lazily, so a consumer meets the first records, and
// fails on them (a ClassCastException on a record that decoded as the wrong
// type), before the bytes further on are read at all.
func Decode(reg *codec.Registry, id string, data []byte, verify bool) ([]any, error) {
	h, body, err := ReadHeader(data)
	if err != nil {
		return nil, fmt.Errorf("read block %s: %w", id, err)
	}
	if verify && h.Fingerprint != reg.Fingerprint() {
		return nil, &MismatchError{Block: id, Writer: h, ReaderPrint: reg.Fingerprint(), ReaderTypes: reg.Len()}
	}
	r := codec.NewReader(reg, body)
	out := make([]any, 0, h.Count)
	for i := 0; i < h.Count; i++ {
		v, err := r.ReadValue()
		if err != nil {
			return out, fmt.Errorf("read block %s record %d: %w", id, i, err)
		}
		out = append(out, v)
	}
	return out, nil
}
