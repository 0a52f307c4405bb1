// Sends an OTLP/JSON ExportTraceServiceRequest to a collector over OTLP/HTTP (POST to the URL's
// path, default /v1/traces; Content-Type application/json). http:// only: no TLS stack is
// configured for it, so a collector elsewhere needs a local agent or a proxy.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/error.h"

namespace cordon {

struct OtlpEndpoint {
  std::string host;
  std::string port = "4318";
  std::string path = "/v1/traces";
};
Outcome<OtlpEndpoint> parseOtlpEndpoint(const std::string& url);

// The error when the request could not be sent or was not answered with 2xx in `timeout`.
std::optional<Error> sendOtlpTraces(const OtlpEndpoint& endpoint, const std::string& body,
                                    std::chrono::milliseconds timeout);

}  // namespace cordon
