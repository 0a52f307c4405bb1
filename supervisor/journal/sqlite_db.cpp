#include "journal/sqlite_db.h"

namespace cordon {

Outcome<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path, bool readOnly) {
  // SQLite's allocation statistics take a global mutex on every malloc; nothing reads them.
  // (Before the library's first use only; later it refuses, harmlessly.)
  static const int kNoMemoryStatistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kNoMemoryStatistics;
  sqlite3* db = nullptr;
  const int flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int status = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (status != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(status);
    sqlite3_close(db);
    return makeError(ErrorCategory::kBadInput, path + ": cannot open the journal: " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<SqliteDb>(new SqliteDb(db, path));
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
  sqlite3_close(db_);
}

Error SqliteDb::failure(const std::string& what) const {
  return makeError(ErrorCategory::kInternal, path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

std::optional<Error> SqliteDb::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return std::nullopt;
  std::string text = message != nullptr ? message : "unknown error";
  sqlite3_free(message);
  return makeError(ErrorCategory::kInternal, path_ + ": " + text);
}

namespace {

// Leaves a kept statement ready for its next use, whatever happened in this one.
struct ResetAfterUse {
  void operator()(sqlite3_stmt* statement) const {
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
  }
};
using Statement = std::unique_ptr<sqlite3_stmt, ResetAfterUse>;

// SQLITE_STATIC: the values outlive their use, since query() resets the statement and clears its
// bindings before it returns; SQLite need not copy them.
int bindAll(sqlite3_stmt* statement, const std::vector<SqlValue>& binds) {
  for (size_t i = 0; i < binds.size(); ++i) {
    const int at = static_cast<int>(i + 1);
    int status = SQLITE_OK;
    if (const auto* text = std::get_if<std::string>(&binds[i])) {
      status = sqlite3_bind_text(statement, at, text->data(), static_cast<int>(text->size()),
                                 SQLITE_STATIC);
    } else if (const auto* integer = std::get_if<int64_t>(&binds[i])) {
      status = sqlite3_bind_int64(statement, at, *integer);
    } else if (const auto* blob = std::get_if<SqlBlob>(&binds[i])) {
      status =
          sqlite3_bind_blob64(statement, at, blob->bytes.data(), blob->bytes.size(), SQLITE_STATIC);
    } else if (const auto* real = std::get_if<double>(&binds[i])) {
      status = sqlite3_bind_double(statement, at, *real);
    } else {
      status = sqlite3_bind_null(statement, at);
    }
    if (status != SQLITE_OK) return status;
  }
  return SQLITE_OK;
}

}  // namespace

std::optional<Error> SqliteDb::run(std::string_view sql, const std::vector<SqlValue>& binds) {
  auto rows = query(sql, binds);
  if (!rows.ok()) return rows.error();
  return std::nullopt;
}

Outcome<std::vector<std::vector<SqlValue>>> SqliteDb::query(std::string_view sql,
                                                            const std::vector<SqlValue>& binds) {
  auto kept = statements_.find(sql);
  if (kept == statements_.end()) {
    sqlite3_stmt* prepared = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &prepared, nullptr) !=
        SQLITE_OK) {
      sqlite3_finalize(prepared);
      return failure("cannot prepare a statement");
    }
    kept = statements_.emplace(std::string(sql), prepared).first;
  }
  sqlite3_stmt* raw = kept->second;
  Statement statement(raw);
  if (bindAll(raw, binds) != SQLITE_OK) return failure("cannot bind a value");
  std::vector<std::vector<SqlValue>> rows;
  for (;;) {
    const int status = sqlite3_step(raw);
    if (status == SQLITE_DONE) break;
    if (status != SQLITE_ROW) return failure("cannot run a statement");
    std::vector<SqlValue> row;
    const int columns = sqlite3_column_count(raw);
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(raw, c)) {
        case SQLITE_INTEGER:
          row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(raw, c)));
          break;
        case SQLITE_FLOAT:
          row.emplace_back(sqlite3_column_double(raw, c));
          break;
        case SQLITE_NULL:
          row.emplace_back(nullptr);
          break;
        case SQLITE_BLOB: {
          const auto* bytes = static_cast<const char*>(sqlite3_column_blob(raw, c));
          row.emplace_back(std::string(bytes != nullptr ? bytes : "",
                                       static_cast<size_t>(sqlite3_column_bytes(raw, c))));
          break;
        }
        default: {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(raw, c));
          row.emplace_back(std::string(text != nullptr ? text : "",
                                       static_cast<size_t>(sqlite3_column_bytes(raw, c))));
        }
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string sqlText(const SqlValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* integer = std::get_if<int64_t>(&value)) return std::to_string(*integer);
  if (const auto* real = std::get_if<double>(&value)) return std::to_string(*real);
  return "";
}
int64_t sqlInteger(const SqlValue& value) {
  if (const auto* integer = std::get_if<int64_t>(&value)) return *integer;
  if (const auto* real = std::get_if<double>(&value)) return static_cast<int64_t>(*real);
  return 0;
}
double sqlReal(const SqlValue& value) {
  if (const auto* real = std::get_if<double>(&value)) return *real;
  if (const auto* integer = std::get_if<int64_t>(&value)) return static_cast<double>(*integer);
  return 0;
}

}  // namespace cordon
