// What kind of Cap'n Proto RPC message a stream is asked to write, read from the bytes the RPC
// system hands it, so a layer below the RPC system can tell a message its receiver answers
// from one it does not.
#pragma once

#include <capnp/message.h>
#include <capnp/rpc.capnp.h>
#include <kj/array.h>

#include <cstdint>
#include <cstring>

namespace cordon::protocol {

// Whether `pieces`, one message as Cap'n Proto's writeMessage hands it to a stream (its segment
// table, then its segments), is a Finish or a Release: the receiver sends nothing back for it
// and may act on it whenever it next reads. Anything it cannot read as such (several segments,
// a table that does not match, unaligned bytes) is not one: such a message is never held back.
inline bool isUnansweredRpcMessage(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  if (pieces.size() != 2 || pieces[0].size() != 8) return false;  // one segment: table of 8 bytes
  const kj::ArrayPtr<const kj::byte> segment = pieces[1];
  uint32_t table[2];
  std::memcpy(table, pieces[0].begin(), sizeof table);
  if (table[0] != 0 || uint64_t{table[1]} * sizeof(capnp::word) != segment.size() ||
      segment.size() < 2 * sizeof(capnp::word) ||
      reinterpret_cast<uintptr_t>(segment.begin()) % alignof(capnp::word) != 0) {
    return false;
  }
  const kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(segment.begin()),
                                              segment.size() / sizeof(capnp::word));
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&words, 1));
  const auto which = reader.getRoot<capnp::rpc::Message>().which();
  return which == capnp::rpc::Message::FINISH || which == capnp::rpc::Message::RELEASE;
}

}  // namespace cordon::protocol
