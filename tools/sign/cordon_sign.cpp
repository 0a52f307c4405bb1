// cordon-sign: makes and checks minisign keys and signatures (compatible both ways with the
// minisign tool), and builds signed plugin packages (docs/trust.md).
//
//   cordon-sign keygen  -p KEY.pub -s KEY.key
//   cordon-sign sign    -s KEY.key -m FILE [-x FILE.minisig] [-t COMMENT] [--legacy]
//                       [--password-file FILE]   (encrypted minisign keys too)
//   cordon-sign verify  -p KEY.pub -m FILE [-x FILE.minisig] [--allow-legacy]
//   cordon-sign package -s KEY.key --object NAME.so (--manifest plugin.yaml | --name NAME) -o DIR
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/yaml_document.h"
#include "plugins/manifest.h"
#include "trust/minisign.h"

namespace {

namespace fs = std::filesystem;
using namespace cordon;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 1;  // verify: the signature does not hold
constexpr int kExitBadInput = 2;

int fail(const std::string& message) {
  std::fprintf(stderr, "cordon-sign: error: %s\n", message.c_str());
  return kExitBadInput;
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

bool writeFile(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return false;
  }
  return chmod(path.c_str(), mode) == 0;
}

int keygen(const std::string& publicPath, const std::string& secretPath, bool force) {
  if (!force && (fs::exists(publicPath) || fs::exists(secretPath)))
    return fail("refusing to overwrite an existing key (use --force)");
  auto [secret, publicKey] = minisign::generateKeyPair();
  if (!writeFile(secretPath, minisign::formatSecretKey(secret), 0600))
    return fail(secretPath + ": cannot write");
  if (!writeFile(publicPath, minisign::formatPublicKey(publicKey), 0644))
    return fail(publicPath + ": cannot write");
  std::printf("key id %s\npublic key %s\nsecret key %s (unencrypted: keep it private)\n",
              minisign::keyIdText(publicKey.id).c_str(), publicPath.c_str(), secretPath.c_str());
  return kExitOk;
}

// A password-protected key's password: the first line of --password-file, else
// $CORDON_SIGN_PASSWORD; none for unencrypted keys.
std::optional<std::string> passwordFrom(const std::string& passwordFile) {
  if (!passwordFile.empty()) {
    std::ifstream in(passwordFile);
    std::string line;
    if (in && std::getline(in, line)) return line;
    return std::string();
  }
  if (const char* env = std::getenv("CORDON_SIGN_PASSWORD")) return std::string(env);
  return std::nullopt;
}

Outcome<minisign::SecretKey> loadSecretKey(const std::string& path,
                                           const std::optional<std::string>& password) {
  std::string text;
  if (!readFile(path, text)) return makeError(ErrorCategory::kBadInput, path + ": cannot read");
  auto key = minisign::parseSecretKey(text, password);
  if (!key.ok()) return makeError(ErrorCategory::kBadInput, path + ": " + key.error().message);
  return key;
}

int signFile(const std::string& secretPath, const std::optional<std::string>& password,
             const std::string& file, std::string signaturePath, const std::string& trustedComment,
             bool legacy) {
  auto key = loadSecretKey(secretPath, password);
  if (!key.ok()) return fail(key.error().message);
  std::string message;
  if (!readFile(file, message)) return fail(file + ": cannot read");
  if (signaturePath.empty()) signaturePath = file + ".minisig";
  const std::string comment =
      trustedComment.empty() ? "file:" + fs::path(file).filename().string() : trustedComment;
  if (comment.find('\n') != std::string::npos || comment.size() > 1024)
    return fail("the trusted comment must be one line of at most 1024 bytes");
  auto signature =
      minisign::sign(key.value(), message, comment, "signature from cordon-sign",
                     legacy ? minisign::Algorithm::kLegacy : minisign::Algorithm::kPrehashed);
  if (!writeFile(signaturePath, minisign::formatSignature(signature), 0644))
    return fail(signaturePath + ": cannot write");
  std::printf("signed %s with key %s -> %s\n", file.c_str(),
              minisign::keyIdText(key.value().id).c_str(), signaturePath.c_str());
  return kExitOk;
}

int verifyFile(const std::string& publicPath, const std::string& file, std::string signaturePath,
               bool allowLegacy) {
  std::string keyText, message, signatureText;
  if (!readFile(publicPath, keyText)) return fail(publicPath + ": cannot read");
  if (!readFile(file, message)) return fail(file + ": cannot read");
  if (signaturePath.empty()) signaturePath = file + ".minisig";
  if (!readFile(signaturePath, signatureText)) return fail(signaturePath + ": cannot read");
  auto key = minisign::parsePublicKey(keyText);
  if (!key.ok()) return fail(publicPath + ": " + key.error().message);
  auto signature = minisign::parseSignature(signatureText);
  if (!signature.ok()) return fail(signaturePath + ": " + signature.error().message);
  auto valid = minisign::verify(key.value(), signature.value(), message, allowLegacy);
  if (!valid.ok()) {
    std::fprintf(stderr, "cordon-sign: %s: signature INVALID: %s\n", file.c_str(),
                 valid.error().message.c_str());
    return kExitInvalid;
  }
  std::printf("Signature and comment signature verified\nTrusted comment: %s\n",
              signature.value().trustedComment.c_str());
  return kExitOk;
}

// A package directory: plugin.yaml, the shared object under its manifest's entry name, and the
// signature whose trusted comment binds name, version and ABI.
int package(const std::string& secretPath, const std::optional<std::string>& password,
            const std::string& object, const std::string& manifestPath, const std::string& name,
            const std::string& version, const std::string& out) {
  std::string manifestText;
  if (!manifestPath.empty()) {
    if (!readFile(manifestPath, manifestText)) return fail(manifestPath + ": cannot read");
  } else {
    manifestText = "# generated by cordon-sign package\nname: " + name + "\nversion: " + version +
                   "\nabi: " + std::to_string(kSupportedPluginAbi) + "\nentry: " + name + ".so\n";
  }
  PluginManifest manifest;
  try {
    manifest = parseManifest(manifestText, manifestPath.empty() ? "(generated)" : manifestPath);
  } catch (const InputError& e) {
    return fail(e.what());
  }
  auto key = loadSecretKey(secretPath, password);
  if (!key.ok()) return fail(key.error().message);
  std::string bytes;
  if (!readFile(object, bytes)) return fail(object + ": cannot read");
  std::error_code error;
  fs::remove_all(out, error);
  fs::create_directories(out, error);
  if (error) return fail(out + ": " + error.message());
  const std::string entry = out + "/" + manifest.entry;
  auto signature =
      minisign::sign(key.value(), bytes, trustedCommentFor(manifest), "signature from cordon-sign");
  if (!writeFile(out + "/plugin.yaml", manifestText, 0644) || !writeFile(entry, bytes, 0755) ||
      !writeFile(entry + ".minisig", minisign::formatSignature(signature), 0644)) {
    return fail(out + ": cannot write the package");
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cordon-sign: minisign-compatible keys and signatures, and signed plugin packages"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cordon-sign 0.1.0");
  std::string passwordFile;
  std::string publicPath, secretPath, file, signaturePath, comment, object, manifest, name, out;
  std::string version = "1.0.0";
  bool force = false, legacy = false, allowLegacy = false;

  CLI::App* keygenCommand = app.add_subcommand("keygen", "Create an unencrypted Ed25519 key pair");
  keygenCommand->add_option("-p,--public", publicPath, "Public key file to write")->required();
  keygenCommand->add_option("-s,--secret", secretPath, "Secret key file to write (mode 0600)")
      ->required();
  keygenCommand->add_flag("-f,--force", force, "Overwrite existing key files");

  CLI::App* signCommand = app.add_subcommand("sign", "Sign a file (minisign -S compatible)");
  signCommand->add_option("-s,--secret", secretPath, "Secret key (unencrypted)")->required();
  signCommand->add_option("-m,--message", file, "File to sign")->required();
  signCommand->add_option("-x,--signature", signaturePath, "Signature file (default FILE.minisig)");
  signCommand->add_option("-t,--trusted-comment", comment, "Trusted comment (signed too)");
  signCommand->add_flag("--legacy", legacy, "Make a legacy 'Ed' signature (not pre-hashed)");
  signCommand->add_option("--password-file", passwordFile,
                          "First line: the password of an encrypted key (or "
                          "$CORDON_SIGN_PASSWORD)");

  CLI::App* verifyCommand = app.add_subcommand(
      "verify", "Verify a signature (minisign -V compatible); exit 1 if it does not hold");
  verifyCommand->add_option("-p,--public", publicPath, "Public key file")->required();
  verifyCommand->add_option("-m,--message", file, "Signed file")->required();
  verifyCommand->add_option("-x,--signature", signaturePath, "Signature (default FILE.minisig)");
  verifyCommand->add_flag("--allow-legacy", allowLegacy, "Accept legacy 'Ed' signatures");

  CLI::App* packageCommand =
      app.add_subcommand("package", "Build a signed plugin package directory");
  packageCommand->add_option("-s,--secret", secretPath, "Secret key (unencrypted)")->required();
  packageCommand->add_option("--object", object, "The plugin's shared object")->required();
  auto* manifestOption =
      packageCommand->add_option("--manifest", manifest, "plugin.yaml to package");
  packageCommand->add_option("--name", name, "Generate a manifest for this plugin name")
      ->excludes(manifestOption);
  packageCommand->add_option("--version", version, "Version for a generated manifest")
      ->capture_default_str();
  packageCommand->add_option("-o,--out", out, "Package directory to (re)create")->required();
  packageCommand->add_option("--password-file", passwordFile,
                             "First line: the password of an encrypted key (or "
                             "$CORDON_SIGN_PASSWORD)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fail(e.what());  // "cordon-sign: error: ...", as every other error
    return kExitBadInput;
  }
  try {
    if (keygenCommand->parsed()) return keygen(publicPath, secretPath, force);
    const auto password = passwordFrom(passwordFile);
    if (signCommand->parsed())
      return signFile(secretPath, password, file, signaturePath, comment, legacy);
    if (verifyCommand->parsed()) return verifyFile(publicPath, file, signaturePath, allowLegacy);
    if (manifest.empty() && name.empty()) return fail("package needs --manifest or --name");
    return package(secretPath, password, object, manifest, name, version, out);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}
