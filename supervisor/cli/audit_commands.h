// `cordon audit query` and `cordon audit summary`: asking an audit log what happened, without
// jq (docs/audit.md, "Asking the log").
#pragma once

#include <string>

#include "audit/audit_query.h"

namespace cordon {

// The matching records as JSON lines (`json`), one aligned line each (`table`), or OCSF 1.1
// events as JSON lines (`ocsf`, audit/ocsf_export.h). 0 when the log was read (whether or not
// anything matched), 2 on bad input.
int auditQueryCommand(const std::string& path, const AuditFilter& filter,
                      const std::string& format);

// One run's summary (audit/audit_query.h: summarizeRun), as text or JSON. 2 when the run is not
// in the log.
int auditSummaryCommand(const std::string& path, const std::string& runId,
                        const std::string& plugin, bool json);

}  // namespace cordon
