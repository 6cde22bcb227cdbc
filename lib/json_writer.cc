#include "lib/json_writer.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>

#include "lib/progress.h"

namespace jobpulse {

struct JsonWriter::Impl {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};
  std::string out;
};

JsonWriter::JsonWriter() : impl_(std::make_unique<Impl>()) {}
JsonWriter::~JsonWriter() = default;

JsonWriter& JsonWriter::BeginObject() {
  impl_->writer.StartObject();
  return *this;
}
JsonWriter& JsonWriter::EndObject() {
  impl_->writer.EndObject();
  return *this;
}
JsonWriter& JsonWriter::BeginArray() {
  impl_->writer.StartArray();
  return *this;
}
JsonWriter& JsonWriter::EndArray() {
  impl_->writer.EndArray();
  return *this;
}
JsonWriter& JsonWriter::Key(std::string_view key) {
  // Keys can come from a provider too (the members of a run's `output`), so
  // they are sanitised like strings; most keys are ASCII and copied as they are.
  if (std::all_of(key.begin(), key.end(), [](char c) { return (c & 0x80) == 0; })) {
    impl_->writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()), true);
  } else {
    const std::string clean = SanitizeUtf8(key);
    impl_->writer.Key(clean.data(), static_cast<rapidjson::SizeType>(clean.size()), true);
  }
  return *this;
}
JsonWriter& JsonWriter::String(std::string_view value) {
  // RapidJSON copies bytes as they are; sanitising keeps the document valid
  // whatever a provider's log contains. ASCII, the usual case, is valid as it
  // is and skips the copy.
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    impl_->writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()), true);
    return *this;
  }
  const std::string clean = SanitizeUtf8(value);
  impl_->writer.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()), true);
  return *this;
}
JsonWriter& JsonWriter::Int(int64_t value) {
  impl_->writer.Int64(value);
  return *this;
}
JsonWriter& JsonWriter::Double(double value) {
  if (std::isfinite(value)) {
    impl_->writer.Double(value);
  } else {
    impl_->writer.Null();
  }
  return *this;
}
JsonWriter& JsonWriter::Bool(bool value) {
  impl_->writer.Bool(value);
  return *this;
}
JsonWriter& JsonWriter::Null() {
  impl_->writer.Null();
  return *this;
}
JsonWriter& JsonWriter::String(const std::optional<std::string>& value) {
  return value ? String(std::string_view(*value)) : Null();
}
JsonWriter& JsonWriter::Double(const std::optional<double>& value) {
  return value ? Double(*value) : Null();
}
JsonWriter& JsonWriter::Int(const std::optional<int64_t>& value) {
  return value ? Int(*value) : Null();
}
JsonWriter& JsonWriter::Raw(std::string_view json) {
  impl_->writer.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

const std::string& JsonWriter::str() {
  impl_->out.assign(impl_->buffer.GetString(), impl_->buffer.GetSize());
  return impl_->out;
}

}  // namespace jobpulse
