// What the audit log says of an artifact's bytes: their SHA-256, never the bytes. Large
// artifacts are hashed on a thread of their own, so the event loop (and the next step) goes on
// while 64 MiB are read.
#pragma once

#include <kj/async.h>

#include <string>

#include "core/error.h"
#include "run/artifacts.h"

namespace cordon {

// "sha256:HEX" of the artifact's bytes, read in 1 MiB chunks.
Outcome<std::string> digestArtifact(const ArtifactBytes& artifact);

// The same, computed on a new thread; the promise resolves on the calling thread's event loop.
kj::Promise<Outcome<std::string>> digestInBackground(Artifact artifact);

}  // namespace cordon
