// libFuzzer harness of the DeviceApps protobuf decoder: the input is one message.
//
// Checks: decode() never reads outside the message nor writes past the apps buffer the header
// promises is enough (size values, allocated exactly, so ASan sees one past it); what it decodes
// points inside the message; and a decoded message, encoded, decodes to the same fields and
// encodes to the same bytes again (the encoder's output is canonical).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "hotloop/deviceapps.hpp"

namespace {

bool same(const hotloop::DeviceAppsMessage& a, const hotloop::DeviceAppsMessage& b) {
  auto bytes_eq = [](const std::uint8_t* p, std::size_t n, const std::uint8_t* q, std::size_t m) {
    return n == m && (n == 0 || std::memcmp(p, q, n) == 0);
  };
  return a.has_device == b.has_device && a.has_id == b.has_id && a.has_type == b.has_type &&
         a.has_lat == b.has_lat && a.has_lon == b.has_lon &&
         bytes_eq(a.id, a.has_id ? a.id_size : 0, b.id, b.has_id ? b.id_size : 0) &&
         bytes_eq(a.type, a.has_type ? a.type_size : 0, b.type, b.has_type ? b.type_size : 0) &&
         a.n_apps == b.n_apps &&
         (a.n_apps == 0 || std::memcmp(a.apps, b.apps, a.n_apps * sizeof *a.apps) == 0) &&
         (!a.has_lat || std::memcmp(&a.lat, &b.lat, sizeof a.lat) == 0) &&
         (!a.has_lon || std::memcmp(&a.lon, &b.lon, sizeof a.lon) == 0);
}

bool inside(const std::uint8_t* p, std::size_t n, const std::uint8_t* data, std::size_t size) {
  return n == 0 || (p >= data && p + n <= data + size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // A copy of exactly size bytes, so that ASan sees a read one byte past the message.
  std::unique_ptr<std::uint8_t[]> msg(new std::uint8_t[size ? size : 1]);
  if (size) std::memcpy(msg.get(), data, size);
  std::unique_ptr<std::uint32_t[]> apps(new std::uint32_t[size ? size : 1]);
  hotloop::DeviceAppsMessage m;
  hotloop::DecodeError e;
  if (!hotloop::decode(msg.get(), size, &m, apps.get(), &e)) {
    if (e.what == nullptr || e.position > size) std::abort();
    return 0;
  }
  if (m.n_apps > size || (m.n_apps && m.apps != apps.get())) std::abort();
  if ((m.has_id && !inside(m.id, m.id_size, msg.get(), size)) ||
      (m.has_type && !inside(m.type, m.type_size, msg.get(), size)))
    std::abort();
  if ((m.has_id || m.has_type) && !m.has_device) std::abort();

  const std::size_t n = hotloop::encoded_size(m);
  std::vector<std::uint8_t> enc(n ? n : 1);
  if (static_cast<std::size_t>(hotloop::encode(m, enc.data()) - enc.data()) != n) std::abort();
  std::vector<std::uint32_t> apps2(n ? n : 1);
  hotloop::DeviceAppsMessage m2;
  if (!hotloop::decode(enc.data(), n, &m2, apps2.data(), &e)) std::abort();
  if (!same(m, m2)) std::abort();
  std::vector<std::uint8_t> enc2(n ? n : 1);
  if (hotloop::encoded_size(m2) != n ||
      hotloop::encode(m2, enc2.data()) - enc2.data() != static_cast<std::ptrdiff_t>(n) ||
      std::memcmp(enc.data(), enc2.data(), n) != 0)
    std::abort();
  return 0;
}
