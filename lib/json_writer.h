// A small streaming JSON writer, so our headers and most .cc files need no
// RapidJSON. Output is compact UTF-8; strings are escaped, invalid UTF-8 in
// them is replaced by U+FFFD rather than producing invalid JSON.
//
// Misuse (a value where a key is expected, unbalanced End*) is a programming
// error and is caught by RapidJSON's assertions in debug builds.
// Thread-safety: one writer per thread.
#ifndef JOBPULSE_LIB_JSON_WRITER_H_
#define JOBPULSE_LIB_JSON_WRITER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace jobpulse {

class JsonWriter {
 public:
  JsonWriter();
  ~JsonWriter();
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& String(const char* value) { return String(std::string_view(value)); }
  JsonWriter& String(const std::string& value) { return String(std::string_view(value)); }
  JsonWriter& Int(int64_t value);
  JsonWriter& Double(double value);  // non-finite values are written as null
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  JsonWriter& String(const std::optional<std::string>& value);  // null when unset
  JsonWriter& Double(const std::optional<double>& value);       // null when unset
  JsonWriter& Int(const std::optional<int64_t>& value);         // null when unset
  // Inserts `json` verbatim as one value; the caller vouches that it is valid.
  JsonWriter& Raw(std::string_view json);

  // The document so far.
  const std::string& str();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobpulse

#endif  // JOBPULSE_LIB_JSON_WRITER_H_
