// schema-compat: fails when a Cap'n Proto schema changed incompatibly against a released copy.
//
//   schema-compat RELEASED.capnp CURRENT.capnp
//
// Compatible evolution (what Cap'n Proto's wire format tolerates): new fields, methods, enumerants
// and types at new ordinals. Incompatible, and reported with the path of what changed: a removed
// or renamed field, method, enumerant or type; a renumbered one; a field whose type, union
// membership or default changed; a method whose parameters or results changed that way.
#include <capnp/schema-parser.h>
#include <kj/filesystem.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

class Comparison {
 public:
  void nodes(capnp::ParsedSchema released, capnp::ParsedSchema current, const std::string& path);
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  void node(capnp::Schema released, capnp::Schema current, const std::string& path);
  void structs(capnp::StructSchema released, capnp::StructSchema current, const std::string& path);
  void interfaces(capnp::InterfaceSchema released, capnp::InterfaceSchema current,
                  const std::string& path);
  void enums(capnp::EnumSchema released, capnp::EnumSchema current, const std::string& path);
  bool sameType(capnp::Type released, capnp::Type current);
  void problem(const std::string& path, const std::string& what) {
    problems_.push_back(path + ": " + what);
  }

  std::vector<std::string> problems_;
};

bool Comparison::sameType(capnp::Type released, capnp::Type current) {
  if (released.which() != current.which()) return false;
  switch (released.which()) {
    case capnp::schema::Type::STRUCT:
      return released.asStruct().getProto().getId() == current.asStruct().getProto().getId();
    case capnp::schema::Type::ENUM:
      return released.asEnum().getProto().getId() == current.asEnum().getProto().getId();
    case capnp::schema::Type::INTERFACE:
      return released.asInterface().getProto().getId() == current.asInterface().getProto().getId();
    case capnp::schema::Type::LIST:
      return sameType(released.asList().getElementType(), current.asList().getElementType());
    default:
      return true;
  }
}

void Comparison::structs(capnp::StructSchema released, capnp::StructSchema current,
                         const std::string& path) {
  for (auto field : released.getFields()) {
    std::string name = field.getProto().getName();
    std::string where = path + "." + name;
    KJ_IF_MAYBE (now, current.findFieldByName(field.getProto().getName())) {
      auto was = field.getProto();
      auto is = now->getProto();
      if (was.which() != is.which()) {
        problem(where, "changed between a slot and a group");
        continue;
      }
      if (was.getDiscriminantValue() != is.getDiscriminantValue()) {
        problem(where, "moved into or out of a union, or to another union position");
      }
      if (was.isSlot()) {
        if (was.getOrdinal().getExplicit() != is.getOrdinal().getExplicit()) {
          problem(where, "renumbered @" + std::to_string(was.getOrdinal().getExplicit()) + " -> @" +
                             std::to_string(is.getOrdinal().getExplicit()));
        }
        if (!sameType(field.getType(), now->getType())) problem(where, "type changed");
        if (kj::str(was.getSlot().getDefaultValue()) != kj::str(is.getSlot().getDefaultValue())) {
          problem(where, "default value changed");
        }
      } else {
        structs(field.getType().asStruct(), now->getType().asStruct(), where);
      }
    } else {
      problem(where, "removed or renamed");
    }
  }
}

void Comparison::interfaces(capnp::InterfaceSchema released, capnp::InterfaceSchema current,
                            const std::string& path) {
  for (auto method : released.getMethods()) {
    std::string where = path + "." + std::string(method.getProto().getName());
    KJ_IF_MAYBE (now, current.findMethodByName(method.getProto().getName())) {
      if (method.getOrdinal() != now->getOrdinal()) {
        problem(where, "renumbered @" + std::to_string(method.getOrdinal()) + " -> @" +
                           std::to_string(now->getOrdinal()));
      }
      structs(method.getParamType(), now->getParamType(), where + "(params)");
      structs(method.getResultType(), now->getResultType(), where + "(results)");
    } else {
      problem(where, "removed or renamed");
    }
  }
}

void Comparison::enums(capnp::EnumSchema released, capnp::EnumSchema current,
                       const std::string& path) {
  for (auto enumerant : released.getEnumerants()) {
    std::string where = path + "." + std::string(enumerant.getProto().getName());
    KJ_IF_MAYBE (now, current.findEnumerantByName(enumerant.getProto().getName())) {
      if (enumerant.getOrdinal() != now->getOrdinal()) problem(where, "renumbered");
    } else {
      problem(where, "removed or renamed");
    }
  }
}

void Comparison::node(capnp::Schema released, capnp::Schema current, const std::string& path) {
  auto was = released.getProto();
  auto is = current.getProto();
  if (was.getId() != is.getId()) problem(path, "type id changed");
  if (was.which() != is.which()) {
    problem(path, "changed kind (struct, interface, enum, ...)");
    return;
  }
  if (was.isStruct()) structs(released.asStruct(), current.asStruct(), path);
  if (was.isInterface()) interfaces(released.asInterface(), current.asInterface(), path);
  if (was.isEnum()) enums(released.asEnum(), current.asEnum(), path);
}

void Comparison::nodes(capnp::ParsedSchema released, capnp::ParsedSchema current,
                       const std::string& path) {
  for (auto nested : released.getAllNested()) {
    std::string name = nested.getUnqualifiedName();
    std::string where = path.empty() ? name : path + "." + name;
    KJ_IF_MAYBE (now, current.findNested(nested.getUnqualifiedName())) {
      node(nested, *now, where);
      nodes(nested, *now, where);
    } else {
      problem(where, "removed or renamed");
    }
  }
}

capnp::ParsedSchema parse(capnp::SchemaParser& parser, const kj::Filesystem& fs, kj::StringPtr file,
                          kj::ArrayPtr<const kj::ReadableDirectory* const> importPath) {
  return parser.parseFromDirectory(fs.getRoot(), fs.getCurrentPath().eval(file), importPath);
}

}  // namespace

int main(int argc, char** argv) {
  // --expect-incompatible inverts the verdict (for the checker's own tests): 0 only when an
  // incompatibility was found, so a file that does not even parse still fails.
  bool expectIncompatible = argc == 4 && std::string(argv[1]) == "--expect-incompatible";
  if (expectIncompatible) {
    --argc;
    ++argv;
  }
  if (argc != 3) {
    bool help = argc == 2 && (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h");
    std::fprintf(help ? stdout : stderr,
                 "Usage: schema-compat [--expect-incompatible] RELEASED.capnp CURRENT.capnp\n\n"
                 "Exits 1 and lists every incompatible change of CURRENT against RELEASED\n"
                 "(removed, renamed, renumbered or retyped fields, methods, enumerants, types).\n");
    return help ? 0 : 2;
  }
  try {
    auto fs = kj::newDiskFilesystem();
    auto include = fs->getRoot().openSubdir(kj::Path::parse("usr/include"));
    const kj::ReadableDirectory* importPath[] = {include.get()};
    // One parser per file: both declare the same file and type ids.
    capnp::SchemaParser releasedParser, currentParser;
    auto released = parse(releasedParser, *fs, argv[1], importPath);
    auto current = parse(currentParser, *fs, argv[2], importPath);
    Comparison comparison;
    comparison.nodes(released, current, "");
    for (const auto& problem : comparison.problems()) {
      std::fprintf(stderr, "%s: incompatible with %s: %s\n", argv[2], argv[1], problem.c_str());
    }
    if (expectIncompatible) return comparison.problems().empty() ? 1 : 0;
    if (!comparison.problems().empty()) return 1;
    std::printf("ok: %s is compatible with %s\n", argv[2], argv[1]);
    return 0;
  } catch (const kj::Exception& e) {
    std::fprintf(stderr, "schema-compat: %s\n", e.getDescription().cStr());
    return 2;
  }
}
