// Tests for mvi::registry: parse_registry (defaults, duplicates, malformed exports), find,
// describe, and validate_arguments (FastAPI's 422 shape, extras dropped).
#include "mvi/registry/registry.hpp"

#include <gtest/gtest.h>

#include <string>

#include "mvi/core/error.hpp"

namespace mvi::registry {
namespace {

using json = nlohmann::ordered_json;

const json kStr = {{"kind", "str"}};
const json kInt = {{"kind", "int"}};

json hello_export() {
  return json::parse(R"({
    "entrypoints": [
      {"name": "hello", "params": [
         {"name": "name", "type": {"kind": "str"}},
         {"name": "times", "type": {"kind": "int"}, "required": false}],
       "returns": {"kind": "str"}},
      {"name": "square", "method": "GET", "status_code": 201, "monitor": true,
       "disable_http_logs": true, "is_async": true, "summary": "Square it", "description": "Long text",
       "params": [{"name": "x", "type": {"kind": "float"}}]}
    ],
    "jobs": [{"name": "tick", "seconds": 2.5, "wait_first": true}, {"name": "tock"}]
  })");
}

std::string load_failed_message(const json& j) {
  try {
    parse_registry(j);
  } catch (const core::Error& e) {
    EXPECT_EQ(e.code(), core::ErrorCode::load_failed);
    return e.what();
  }
  ADD_FAILURE() << "no exception for " << j.dump();
  return {};
}

// ---- parse_registry ----

TEST(ParseRegistry, ReadsEverything) {
  Registry r = parse_registry(hello_export());
  ASSERT_EQ(r.entrypoints.size(), 2u);

  const Entrypoint& hello = r.entrypoints[0];
  EXPECT_EQ(hello.index, 0u);
  EXPECT_EQ(hello.name, "hello");
  ASSERT_EQ(hello.params.size(), 2u);
  EXPECT_EQ(hello.params[0].name, "name");
  EXPECT_EQ(hello.params[0].type.kind, schema::Kind::str);
  EXPECT_TRUE(hello.params[0].required);
  EXPECT_EQ(hello.params[1].name, "times");
  EXPECT_EQ(hello.params[1].type.kind, schema::Kind::int_);
  EXPECT_FALSE(hello.params[1].required);
  EXPECT_EQ(hello.returns.kind, schema::Kind::str);

  const Entrypoint& square = r.entrypoints[1];
  EXPECT_EQ(square.index, 1u);
  EXPECT_EQ(square.method, "GET");
  EXPECT_EQ(square.status_code, 201);
  EXPECT_TRUE(square.monitor);
  EXPECT_TRUE(square.disable_http_logs);
  EXPECT_TRUE(square.is_async);
  EXPECT_EQ(square.summary, "Square it");
  EXPECT_EQ(square.description, "Long text");
  EXPECT_EQ(square.returns.kind, schema::Kind::any) << "no return annotation";

  ASSERT_EQ(r.jobs.size(), 2u);
  EXPECT_EQ(r.jobs[0].name, "tick");
  EXPECT_DOUBLE_EQ(r.jobs[0].seconds, 2.5);
  EXPECT_TRUE(r.jobs[0].wait_first);
  EXPECT_EQ(r.jobs[1].name, "tock");
  EXPECT_DOUBLE_EQ(r.jobs[1].seconds, 0.0);
  EXPECT_FALSE(r.jobs[1].wait_first);
}

TEST(ParseRegistry, Defaults) {
  Registry r = parse_registry(json::parse(R"({"entrypoints": [{"name": "ping"}]})"));
  ASSERT_EQ(r.entrypoints.size(), 1u);
  const Entrypoint& ep = r.entrypoints[0];
  EXPECT_EQ(ep.method, "POST");
  EXPECT_EQ(ep.status_code, 200);
  EXPECT_FALSE(ep.monitor);
  EXPECT_FALSE(ep.disable_http_logs);
  EXPECT_FALSE(ep.is_async);
  EXPECT_TRUE(ep.summary.empty());
  EXPECT_TRUE(ep.description.empty());
  EXPECT_TRUE(ep.params.empty());
  EXPECT_EQ(ep.returns.kind, schema::Kind::any);
  EXPECT_TRUE(r.jobs.empty());
}

TEST(ParseRegistry, ParameterWithoutTypeIsAny) {
  Registry r = parse_registry(json::parse(R"({"entrypoints": [{"name": "f", "params": [{"name": "a"}]}]})"));
  ASSERT_EQ(r.entrypoints[0].params.size(), 1u);
  EXPECT_EQ(r.entrypoints[0].params[0].type.kind, schema::Kind::any);
  EXPECT_TRUE(r.entrypoints[0].params[0].required);
}

TEST(ParseRegistry, NullReturnsIsAny) {
  Registry r = parse_registry(json::parse(R"({"entrypoints": [{"name": "f", "returns": null}]})"));
  EXPECT_EQ(r.entrypoints[0].returns.kind, schema::Kind::any);
}

TEST(ParseRegistry, EmptyExport) {
  Registry r = parse_registry(json::object());
  EXPECT_TRUE(r.entrypoints.empty());
  EXPECT_TRUE(r.jobs.empty());
}

TEST(ParseRegistry, DuplicateEntrypointIsRejected) {
  auto msg = load_failed_message(json::parse(R"({"entrypoints": [{"name": "a"}, {"name": "b"}, {"name": "a"}]})"));
  EXPECT_NE(msg.find("'a'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("twice"), std::string::npos) << msg;
}

TEST(ParseRegistry, NotAnObjectIsRejected) {
  load_failed_message(json::array());
  load_failed_message(json("registry"));
}

TEST(ParseRegistry, NamelessEntrypointIsRejected) {
  auto msg = load_failed_message(json::parse(R"({"entrypoints": [{"method": "POST"}]})"));
  EXPECT_NE(msg.find("no name"), std::string::npos) << msg;
  load_failed_message(json::parse(R"({"entrypoints": [{"name": ""}]})"));
}

TEST(ParseRegistry, BadParameterTypeNamesEntrypointAndParameter) {
  auto msg = load_failed_message(
      json::parse(R"({"entrypoints": [{"name": "f", "params": [{"name": "arg", "type": {"kind": "nope"}}]}]})"));
  EXPECT_NE(msg.find("entrypoint 'f'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("parameter 'arg'"), std::string::npos) << msg;
}

TEST(ParseRegistry, BadReturnTypeNamesTheEntrypoint) {
  auto msg = load_failed_message(json::parse(R"({"entrypoints": [{"name": "g", "returns": {"kind": "?"}}]})"));
  EXPECT_NE(msg.find("entrypoint 'g'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("return"), std::string::npos) << msg;
}

TEST(RegistryFind, ByName) {
  Registry r = parse_registry(hello_export());
  ASSERT_NE(r.find("square"), nullptr);
  EXPECT_EQ(r.find("square")->index, 1u);
  EXPECT_EQ(r.find("nope"), nullptr);
  EXPECT_EQ(r.find("Hello"), nullptr) << "names are case-sensitive";
}

TEST(Describe, ListsEntrypointsAndJobs) {
  std::string d = describe(parse_registry(hello_export()));
  EXPECT_NE(d.find("POST /hello(name: str, times: int = ...) -> str"), std::string::npos) << d;
  EXPECT_NE(d.find("GET /square(x: float) -> any [async]"), std::string::npos) << d;
  EXPECT_NE(d.find("tick every"), std::string::npos) << d;
  EXPECT_NE(describe(Registry{}).find("(none)"), std::string::npos);
}

// ---- validate_arguments ----

class ValidateArguments : public ::testing::Test {
 protected:
  ValidateArguments() : registry_(parse_registry(hello_export())), hello_(registry_.entrypoints[0]) {}
  Registry registry_;
  const Entrypoint& hello_;
};

TEST_F(ValidateArguments, ValidArgumentsPass) {
  json args = {{"name", "Bob"}, {"times", 2}};
  schema::Errors errors;
  EXPECT_TRUE(validate_arguments(hello_, args, "body", errors));
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(args, (json{{"name", "Bob"}, {"times", 2}}));
}

TEST_F(ValidateArguments, OptionalArgumentMayBeOmitted) {
  json args = {{"name", "Bob"}};
  schema::Errors errors;
  EXPECT_TRUE(validate_arguments(hello_, args, "body", errors));
  EXPECT_EQ(args, (json{{"name", "Bob"}}));
}

TEST_F(ValidateArguments, ArgumentsAreCoercedInPlace) {
  json args = {{"name", "Bob"}, {"times", "3"}};
  schema::Errors errors;
  ASSERT_TRUE(validate_arguments(hello_, args, "body", errors));
  EXPECT_TRUE(args["times"].is_number_integer());
  EXPECT_EQ(args["times"], 3);
}

TEST_F(ValidateArguments, MissingRequiredArgument) {
  json args = json::object();
  schema::Errors errors;
  EXPECT_FALSE(validate_arguments(hello_, args, "body", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].type, "missing");
  EXPECT_EQ(errors[0].loc, json::array({"body", "name"}));
  EXPECT_EQ(errors[0].msg, "Field required");
  // FastAPI's get_missing_field_error() for a missing (embedded) body field: input null
  EXPECT_TRUE(errors[0].input.is_null()) << errors[0].input.dump();
}

TEST_F(ValidateArguments, EveryWrongFieldIsReported) {
  json args = {{"name", 5}, {"times", "x"}};
  schema::Errors errors;
  EXPECT_FALSE(validate_arguments(hello_, args, "body", errors));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].type, "string_type");
  EXPECT_EQ(errors[0].loc, json::array({"body", "name"}));
  EXPECT_EQ(errors[0].input, 5);
  EXPECT_EQ(errors[1].type, "int_parsing");
  EXPECT_EQ(errors[1].loc, json::array({"body", "times"}));
  EXPECT_EQ(errors[1].input, "x");
}

TEST_F(ValidateArguments, MissingAndWrongTogether) {
  json args = {{"times", 1.5}};
  schema::Errors errors;
  EXPECT_FALSE(validate_arguments(hello_, args, "body", errors));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].type, "missing");
  EXPECT_EQ(errors[1].type, "int_from_float");
}

TEST_F(ValidateArguments, ExtraFieldsAreDropped) {
  json args = {{"name", "Bob"}, {"extra", 1}, {"another", {1, 2}}};
  schema::Errors errors;
  EXPECT_TRUE(validate_arguments(hello_, args, "body", errors));
  EXPECT_EQ(args, (json{{"name", "Bob"}}));
}

TEST_F(ValidateArguments, NonObjectBodyIsADictTypeError) {
  for (const json& body : {json::array({1, 2}), json("Bob"), json(3), json(nullptr)}) {
    json args = body;
    schema::Errors errors;
    EXPECT_FALSE(validate_arguments(hello_, args, "body", errors)) << body.dump();
    ASSERT_EQ(errors.size(), 1u) << body.dump();
    EXPECT_EQ(errors[0].type, "dict_type");
    EXPECT_EQ(errors[0].loc, json::array({"body"}));
    EXPECT_EQ(errors[0].msg, "Input should be a valid dictionary");
    EXPECT_EQ(errors[0].input, body);
  }
}

TEST_F(ValidateArguments, QuerySourceNamesTheLocation) {
  json args = {{"x", "abc"}};
  schema::Errors errors;
  EXPECT_FALSE(validate_arguments(registry_.entrypoints[1], args, "query", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].type, "float_parsing");
  EXPECT_EQ(errors[0].loc, json::array({"query", "x"}));
}

TEST_F(ValidateArguments, NoParametersAcceptsAnEmptyObject) {
  Registry r = parse_registry(json::parse(R"({"entrypoints": [{"name": "ping"}]})"));
  json args = json::object();
  schema::Errors errors;
  EXPECT_TRUE(validate_arguments(r.entrypoints[0], args, "body", errors));
  EXPECT_EQ(args, json::object());
}

}  // namespace
}  // namespace mvi::registry
