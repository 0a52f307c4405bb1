#include "journal/journal_resume.h"

#include "journal/journal_reader.h"
#include "journal/stored_outputs.h"

namespace cordon {
namespace {

std::optional<Error> errorOf(const SqlValue& category, const SqlValue& message,
                             const std::string& step) {
  if (std::holds_alternative<std::nullptr_t>(category)) return std::nullopt;
  const auto parsed = categoryFromName(sqlText(category));
  return makeError(parsed.value_or(ErrorCategory::kInternal), sqlText(message)).withStep(step);
}

}  // namespace

Outcome<JournaledRun> journaledRun(SqliteDb& db, const std::string& wanted) {
  auto shown = journalRun(db, wanted);  // resolves the prefix, with the same errors
  if (!shown.ok()) return shown.error();
  const std::string id = shown.value()["run"]["id"].get<std::string>();
  auto rows = db.query(
      "SELECT state, workflow_path, workflow_digest, policy_path, policy_digest, invocation FROM "
      "runs WHERE id = ?1",
      {id});
  if (!rows.ok()) return rows.error();
  const auto& row = rows.value().at(0);
  JournaledRun run;
  run.id = id;
  run.state = sqlText(row[0]);
  run.workflowPath = sqlText(row[1]);
  run.workflowDigest = sqlText(row[2]);
  run.policyPath = sqlText(row[3]);
  run.policyDigest = sqlText(row[4]);
  if (!std::holds_alternative<std::nullptr_t>(row[5]))
    run.invocation = nlohmann::json::parse(sqlText(row[5]), nullptr, false);
  auto plugins = db.query("SELECT plugin, digest FROM plugins WHERE run_id = ?1", {id});
  if (!plugins.ok()) return plugins.error();
  for (const auto& plugin : plugins.value())
    run.pluginDigests[sqlText(plugin[0])].insert(sqlText(plugin[1]));
  auto inputs = db.query("SELECT name, digest FROM inputs WHERE run_id = ?1", {id});
  if (!inputs.ok()) return inputs.error();
  for (const auto& input : inputs.value()) run.inputDigests[sqlText(input[0])] = sqlText(input[1]);
  auto steps = db.query("SELECT COUNT(*) FROM steps WHERE run_id = ?1", {id});
  if (!steps.ok()) return steps.error();
  run.stepsStarted = static_cast<size_t>(sqlInteger(steps.value().at(0).at(0)));
  return run;
}

Outcome<ResumeState> resumeStateOf(SqliteDb& db, const JournaledRun& run,
                                   const std::string& storeDirectory,
                                   std::vector<std::string>& warnings) {
  auto attempts =
      db.query("SELECT label, MAX(number), COUNT(*) FROM attempts WHERE run_id = ?1 GROUP BY label",
               {run.id});
  if (!attempts.ok()) return attempts.error();
  std::map<std::string, unsigned> lastAttempt;
  for (const auto& row : attempts.value())
    lastAttempt[sqlText(row[0])] = static_cast<unsigned>(sqlInteger(row[1]));
  auto steps = db.query(
      "SELECT name, state, milliseconds, worker_pid, error_category, error_message, outputs FROM "
      "steps WHERE run_id = ?1",
      {run.id});
  if (!steps.ok()) return steps.error();
  ResumeState resume;
  for (const auto& row : steps.value()) {
    const std::string name = sqlText(row[0]);
    const std::string state = sqlText(row[1]);
    EndedStep ended;
    ended.milliseconds = sqlReal(row[2]);
    ended.workerPid = static_cast<pid_t>(sqlInteger(row[3]));
    ended.attempts = lastAttempt.count(name) != 0 ? lastAttempt[name] : 0;
    if (state == "succeeded") {
      auto outputs = storedOutputs(db, run.id, name, sqlText(row[6]), storeDirectory);
      if (!outputs.ok()) {
        warnings.push_back("step '" + name + "' runs again: " + outputs.error().message);
        continue;
      }
      ended.state = StepState::kSucceeded;
      ended.outputs = std::move(outputs.value().outputs);
      ended.outputDigests = std::move(outputs.value().digests);
      resume.ended[name] = std::move(ended);
    } else if (state == "failed" || state == "continued") {
      ended.state = StepState::kFailed;
      ended.continued = state == "continued";
      ended.error = errorOf(row[4], row[5], name);
      if (!ended.error) ended.error = makeError(ErrorCategory::kInternal, "failed").withStep(name);
      resume.ended[name] = std::move(ended);
    } else if (state == "skipped") {
      ended.state = StepState::kSkipped;
      ended.skipReason = sqlText(row[5]);
      resume.ended[name] = std::move(ended);
    } else {  // running, retrying, restarting: the supervisor died in it
      resume.interrupted[name] = lastAttempt.count(name) != 0 ? lastAttempt[name] : 1;
    }
  }
  return resume;
}

}  // namespace cordon
