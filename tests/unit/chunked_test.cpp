// ChunkedDecoder: decoding in any number of pieces, and every line bounded (issue 12's hostile
// inputs: endless chunk extensions, trailer floods, runs of leading zeros, bare LF).
#include "mvi/http/chunked.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mvi::http {
namespace {

config::Limits limits() {
  config::Limits l;
  l.max_body_size = 1024;
  l.max_chunk_line = 64;
  l.max_header_size = 256;
  l.max_header_count = 4;
  return l;
}

struct Decoded {
  ChunkedDecoder::Status status;
  std::string body;
  std::size_t used = 0;
  int rejected = 0;
};

// Feeds `input` `piece` bytes at a time, as a socket might deliver it.
Decoded decode(const std::string& input, std::size_t piece = 1 << 20, config::Limits l = limits()) {
  ChunkedDecoder d(l);
  Decoded out;
  std::string pending;
  for (std::size_t at = 0; at < input.size() && d.status() == ChunkedDecoder::Status::need_more; at += piece) {
    pending += input.substr(at, piece);
    std::size_t n = d.feed(pending, out.body);
    out.used += n;
    pending.erase(0, n);
  }
  out.status = d.status();
  if (out.status == ChunkedDecoder::Status::failed) out.rejected = d.rejection().status;
  return out;
}

TEST(Chunked, DecodesChunksAndLeavesTheNextRequest) {
  const std::string body = "5\r\nhello\r\n6;name=value\r\n world\r\n0\r\n\r\n";
  auto d = decode(body + "GET / HTTP/1.1\r\n");
  EXPECT_EQ(d.status, ChunkedDecoder::Status::done);
  EXPECT_EQ(d.body, "hello world");
  EXPECT_EQ(d.used, body.size());
}

TEST(Chunked, SameResultByteByByte) {
  auto d = decode("A\r\n0123456789\r\n1\r\n!\r\n0\r\nX-Trailer: yes\r\n\r\n", 1);
  EXPECT_EQ(d.status, ChunkedDecoder::Status::done);
  EXPECT_EQ(d.body, "0123456789!");
}

TEST(Chunked, NeedsMoreUntilTheFinalEmptyLine) {
  EXPECT_EQ(decode("5\r\nhello\r\n0\r\n").status, ChunkedDecoder::Status::need_more);
  EXPECT_EQ(decode("5\r\nhel").status, ChunkedDecoder::Status::need_more);
}

TEST(Chunked, AnEndlessExtensionIsRefusedAtTheLineLimit) {
  // Fed in small pieces, the decoder must stop as soon as the line passes the limit, holding no more.
  auto d = decode("7;" + std::string(100000, 'a'), 16);
  EXPECT_EQ(d.status, ChunkedDecoder::Status::failed);
  EXPECT_EQ(d.rejected, 400);
  EXPECT_LE(d.used, 64u + 16u);
}

TEST(Chunked, ALineExactlyAtTheLimitIsAccepted) {
  std::string line = "1;" + std::string(62, 'x');  // 64 bytes
  auto d = decode(line + "\r\nZ\r\n0\r\n\r\n", 5);
  EXPECT_EQ(d.status, ChunkedDecoder::Status::done);
  EXPECT_EQ(d.body, "Z");
}

TEST(Chunked, LeadingZerosBeyondSixteenDigitsAreRefused) {
  EXPECT_EQ(decode("0000000000000005\r\nhello\r\n0\r\n\r\n").status, ChunkedDecoder::Status::done);
  auto d = decode(std::string(17, '0') + "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(d.rejected, 400);
  auto many = decode(std::string(1000000, '0') + "5\r\n", 4096);
  EXPECT_EQ(many.rejected, 400);
}

TEST(Chunked, MalformedSizesAndData) {
  EXPECT_EQ(decode("x\r\n").rejected, 400);
  EXPECT_EQ(decode("\r\n").rejected, 400);
  EXPECT_EQ(decode("5 x\r\nhello\r\n0\r\n\r\n").rejected, 400);
  EXPECT_EQ(decode("5\r\nhelloXX\r\n0\r\n\r\n").rejected, 400);  // data longer than its size
  EXPECT_EQ(decode("5\r\nhello\r\n-1\r\n\r\n").rejected, 400);
}

TEST(Chunked, BareLfIsRefused) {
  EXPECT_EQ(decode("5\nhello\r\n0\r\n\r\n").rejected, 400);
  EXPECT_EQ(decode("5\r\nhello\n0\r\n\r\n").rejected, 400);
  EXPECT_EQ(decode("5\r\nhello\r\n0\r\n\n").rejected, 400);
}

TEST(Chunked, TrailersCountAgainstTheHeaderLimits) {
  std::string fields;
  for (int i = 0; i < 5; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(decode("0\r\n" + fields + "\r\n").rejected, 431);  // 5 fields, the limit is 4
  EXPECT_EQ(decode("0\r\nX-Big: " + std::string(300, 'v') + "\r\n\r\n", 7).rejected, 431);
  EXPECT_EQ(decode("0\r\n" + std::string(10000, 'a'), 100).rejected, 431);  // no line end at all
  EXPECT_EQ(decode("0\r\nno colon\r\n\r\n").rejected, 400);
  EXPECT_EQ(decode("0\r\n folded: x\r\n\r\n").rejected, 400);
}

TEST(Chunked, BodyLimitFromTheSizeLineAndWhileReading) {
  EXPECT_EQ(decode("FFFFFFFF\r\n").rejected, 413);  // refused before any data arrives
  std::string chunk(600, 'a');
  EXPECT_EQ(decode("258\r\n" + chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n").rejected, 413);  // 2 × 600 > 1024
}

}  // namespace
}  // namespace mvi::http
