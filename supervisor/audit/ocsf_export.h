// `cordon audit query --format ocsf`: a record as an OCSF 1.1 event (https://schema.ocsf.io),
// so that a SIEM that speaks OCSF reads Cordon's log without a parser of its own. The mapping
// (docs/audit.md, "OCSF") puts each field where OCSF has a place for it and keeps every other
// one under `unmapped`; nothing is dropped. The record's own names stay as they are in the log.
#pragma once

#include <nlohmann/json.hpp>

namespace cordon {

nlohmann::json toOcsf(const nlohmann::json& record);

}  // namespace cordon
