// What `cordon audit query` and `cordon audit summary` make of a log's records (docs/audit.md,
// "Asking the log"): a filter over the envelope, a one-line account of any record, and a run's
// summary, per plugin, of what it did and tried. Every string in a record is untrusted (a
// plugin chose many of them); the CLI prints them only through forTerminal or jsonText.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace cordon {

struct AuditFilter {
  std::string run;     // exact
  std::string plugin;  // exact
  std::string step;    // STEP, which also matches its for_each items STEP[N]
  std::string event;   // exact, or a prefix ending in '*' ("gate.*")
  std::string since;   // ISO 8601 UTC, as long as wanted: 2026-12-03, 2026-12-03T14:05, ...
  std::string until;   // the same; inclusive at its precision (until 2026-12-03: the whole day)

  // Bad input naming the option when --since or --until is not such a time.
  static Outcome<Done> checkTime(const std::string& option, const std::string& value);
  bool matches(const nlohmann::json& record) const;
};

// A record's field as text, whatever its JSON type ("" when absent or null): records are read
// back from a file, so no field can be trusted to have the type the log writes.
std::string auditFieldText(const nlohmann::json& record, const char* key);

// The log's "2026-12-03T14:05:06.123456Z" as microseconds since the epoch; 0 when it is not
// that shape.
int64_t auditTimeMicroseconds(const std::string& ts);

// "gate.deny plugin->host read_file: read_file path '/etc/x' is outside the granted paths" and
// the like: what a reader needs of the record, on one line (not yet made safe for a terminal).
std::string recordAccount(const nlohmann::json& record);

// One run's records (in log order) summarised: the run, then each plugin's verification,
// workers, calls made and refused, host capabilities used and refused, syscalls refused, files
// and sockets it named, how each worker ended, its steps, and a timeline of what mattered.
// `plugin` non-empty keeps only that plugin. docs/audit.md shows one.
nlohmann::json summarizeRun(const std::vector<nlohmann::json>& records, const std::string& plugin);

}  // namespace cordon
