// A small RAII layer over SQLite's C API: a connection and prepared statements that bind and
// read by position. Errors are values naming the database file and SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/error.h"

namespace cordon {

// Bytes bound as a BLOB (an inline output); a BLOB column reads back as std::string.
struct SqlBlob {
  std::string_view bytes;
};
using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string, SqlBlob>;

class SqliteDb {
 public:
  // Opens (creating) the file; busy waits up to 5 s for another writer (WAL lets readers be).
  static Outcome<std::unique_ptr<SqliteDb>> open(const std::string& path, bool readOnly = false);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements without results (schema, pragmas, BEGIN/COMMIT).
  std::optional<Error> exec(const std::string& sql);
  // Runs one statement with `binds` (?1, ?2, ...), discarding any rows.
  std::optional<Error> run(std::string_view sql, const std::vector<SqlValue>& binds);
  // Runs a query; each row is its columns in order. Statements are prepared once per text and
  // kept (the journal runs the same dozen for every event).
  Outcome<std::vector<std::vector<SqlValue>>> query(std::string_view sql,
                                                    const std::vector<SqlValue>& binds = {});
  const std::string& path() const { return path_; }

 private:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Error failure(const std::string& what) const;

  sqlite3* db_;
  std::string path_;
  // Looked up by any string's view, so a literal's text is not copied for each use.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  // Finalized before db_ closes.
  std::unordered_map<std::string, sqlite3_stmt*, TextHash, std::equal_to<>> statements_;
};

// A column as text ("" for NULL) or as a number (0 for NULL or text).
std::string sqlText(const SqlValue& value);
int64_t sqlInteger(const SqlValue& value);
double sqlReal(const SqlValue& value);

}  // namespace cordon
