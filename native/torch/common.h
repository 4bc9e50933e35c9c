// Shared plumbing of the ext5 torch addon: error conversion, argument validation, module
// registration and the Tensor handle that every other file passes across the JS boundary.
//
// Rules every native entry follows (docs/design.md: no input crashes the process):
//  - validate every argument before touching libtorch, and throw ext5::ArgError with the
//    argument's name and what was expected;
//  - run libtorch work inside EXT5_TRY / EXT5_CATCH(env) so c10::Error and std::exception become
//    JS errors with a clean message (no C++ backtrace) and a `code` property.
#pragma once

#include <napi.h>

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ext5 {

// ---- errors -------------------------------------------------------------------------------

// An error raised by the addon's own validation; becomes a JS Error with `code`.
struct ArgError : std::exception {
  std::string code;
  std::string message;
  ArgError(std::string c, std::string m) : code(std::move(c)), message(std::move(m)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

[[noreturn]] void ThrowArg(const std::string& message);                 // code EXT5_INVALID_ARG
[[noreturn]] void ThrowCode(const std::string& code, const std::string& message);

// Converts the active C++ exception into a thrown Napi::Error. Call only from a catch block.
[[noreturn]] void RethrowAsJs(Napi::Env env);
// Same conversion for AsyncWorker::Execute: returns {code, message} for SetError.
std::pair<std::string, std::string> DescribeCurrentException();
// Builds a JS Error object with code (for rejecting promises).
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message);

#define EXT5_TRY try {
#define EXT5_CATCH(env)             \
  }                                 \
  catch (const Napi::Error&) {      \
    throw;                          \
  }                                 \
  catch (...) {                     \
    ::ext5::RethrowAsJs(env);       \
  }

// ---- argument helpers (all throw ArgError with the argument name) --------------------------

void CheckArgCount(const Napi::CallbackInfo& info, size_t min, size_t max, const char* fn);
double GetNumber(const Napi::Value& v, const char* name);
int64_t GetInt(const Napi::Value& v, const char* name);  // finite integer within 2^53
bool GetBool(const Napi::Value& v, const char* name);
std::string GetString(const Napi::Value& v, const char* name);
std::vector<int64_t> GetIntArray(const Napi::Value& v, const char* name);
std::optional<int64_t> GetOptionalInt(const Napi::Value& v, const char* name);  // undefined/null -> none

at::ScalarType ParseDtype(const std::string& s);           // 'float32', 'bfloat16', ...
std::string DtypeName(at::ScalarType t);
at::Device ParseDevice(const std::string& s);              // 'cpu' | 'cuda' | 'cuda:N', checks availability
std::string DeviceName(const at::Device& d);
int64_t NormalizeDim(int64_t dim, int64_t ndim, const char* name);

// ---- Tensor handle ---------------------------------------------------------------------------

// Tensors cross the JS boundary as numeric handles into a per-environment slot table: creating
// a wrapped N-API object per op result cost ~1.5 us (napi_wrap's private-property transitions
// and finalizer bookkeeping), a number costs nothing. A handle encodes slot index and a
// generation, so a disposed or forged handle is detected, never dereferenced. The TypeScript
// Tensor class owns handles: it disposes them explicitly, in tidy() scopes, or from a
// FinalizationRegistry when garbage-collected. The env's instance-data slot belongs to this
// file: other files keep their per-process state in statics. Raw handles returned by native calls must be
// wrapped with Tensor.fromHandle() (or disposed) by the TS code that receives them.
class TensorHandle {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  // Stores a tensor and returns its new handle (a JS number).
  static Napi::Value Wrap(Napi::Env env, at::Tensor t);
  // True when v is a live handle, or an object whose `_h` is one (the TS Tensor).
  static bool Is(const Napi::Value& v);
  // The tensor behind a handle (or a TS Tensor); throws EXT5_INVALID_ARG / EXT5_DISPOSED naming
  // the argument.
  static at::Tensor Get(const Napi::Value& v, const char* name);
  // Releases a handle; false when it was already released. Safe to call twice.
  static bool Release(Napi::Env env, const Napi::Value& v);
};

// Live-handle statistics per device, for memory().
struct DeviceStats {
  int64_t tensors = 0;
  int64_t bytes = 0;
};
std::vector<std::pair<std::string, DeviceStats>> LiveStats();

// ---- module registration -------------------------------------------------------------------

// Each .cc file registers its exports with EXT5_REGISTER(name, fn) so files can be added
// without editing a central list. fn(env, exports) runs once per module load.
using InitFn = void (*)(Napi::Env, Napi::Object);
bool RegisterModule(const char* name, InitFn fn);
#define EXT5_REGISTER(name, fn) \
  static const bool ext5_registered_##name = ::ext5::RegisterModule(#name, fn)

// Adds a function export whose body runs inside EXT5_TRY/EXT5_CATCH.
void SetMethod(Napi::Env env, Napi::Object exports, const char* name,
               std::function<Napi::Value(const Napi::CallbackInfo&)> fn);

// ---- async work ----------------------------------------------------------------------------

// Runs `work` on a libuv worker thread and resolves with `done(env, result)` on the JS thread.
// Exceptions in `work` become promise rejections with a code; nothing touches V8 off-thread.
template <typename R>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<R()> work, std::function<Napi::Value(Napi::Env, R&)> done)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), work_(std::move(work)),
        done_(std::move(done)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      result_ = work_();
    } catch (...) {
      auto [code, message] = DescribeCurrentException();
      code_ = code;
      SetError(message);
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(done_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(MakeError(Env(), code_, e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<R()> work_;
  std::function<Napi::Value(Napi::Env, R&)> done_;
  std::optional<R> result_;
  std::string code_;
};

// Queues `work` and returns its promise.
template <typename R>
Napi::Promise RunAsync(Napi::Env env, std::function<R()> work, std::function<Napi::Value(Napi::Env, R&)> done) {
  auto* w = new PromiseWorker<R>(env, std::move(work), std::move(done));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace ext5
