// Shared plumbing of the ext5 torch addon: error conversion, argument validation, module
// registration and the Tensor handle that every other file passes across the JS boundary.
//
// Rules every native entry follows:
//  - validate every argument before touching libtorch, and throw ext5::ArgError with the
//    argument's name and what was expected;
//  - run libtorch work inside EXT5_TRY / EXT5_CATCH(env) so c10::Error and std::exception become
//    JS errors with a clean message (no C++ backtrace) and a `code` property.
#pragma once

#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
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
// Same conversion for work on a worker thread: returns {code, message}.
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

// The bytes of a typed array, whether an ArrayBuffer or a SharedArrayBuffer backs it
// (Napi::TypedArray::ArrayBuffer() fails with "Invalid argument" on the latter).
std::pair<uint8_t*, size_t> TypedArrayBytes(const Napi::TypedArray& ta);

// Throws EXT5_VALUE naming `name` unless every value of `t` fits the integer dtype `target`
// exactly: finite, within its range and (with `exact`) without a fractional part. A no-op for
// floating-point and bool targets (bool conversion means "non-zero", as everywhere). This is the
// one check between JS numbers and integer tensors: creation, conversion and model inputs.
void CheckFitsInteger(const at::Tensor& t, at::ScalarType target, const std::string& name, bool exact = true);

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
  // Releases a handle; false when it was already released. Safe to call twice. `collected`: the
  // owning TS Tensor was garbage-collected (counted in DeviceStats::collected_*).
  static bool Release(Napi::Env env, const Napi::Value& v, bool collected);
};

// Live-handle statistics per device, for memory().
struct DeviceStats {
  int64_t tensors = 0;
  int64_t bytes = 0;
  int64_t collected_tensors = 0;  // released since start because their Tensor was garbage-collected
  int64_t collected_bytes = 0;
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

// ---- busy flags ----------------------------------------------------------------------------

// One call's hold on an object's busy flag (the T5 model, an Adafactor, a process group: each
// takes one call at a time). The constructor takes the flag or throws EXT5_BUSY with `message`;
// Release() or the destructor, whichever comes first, gives it back. The guard shares ownership
// of the object the flag lives in, so a guard carried by an async call keeps it alive.
class BusyGuard {
 public:
  template <typename Owner>
  BusyGuard(const std::shared_ptr<Owner>& owner, std::atomic<bool>& flag, const std::string& message)
      : flag_(owner, &flag) {
    bool expected = false;
    if (!flag_->compare_exchange_strong(expected, true)) {
      flag_.reset();
      ThrowCode("EXT5_BUSY", message);
    }
  }
  ~BusyGuard() { Release(); }
  BusyGuard(BusyGuard&& o) noexcept : flag_(std::move(o.flag_)) {}
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;
  BusyGuard& operator=(BusyGuard&&) = delete;
  void Release() noexcept {
    if (flag_) {
      flag_->store(false);
      flag_.reset();
    }
  }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;  // aliases the owner (shared_ptr aliasing constructor)
};

// ---- async work ----------------------------------------------------------------------------

// Runs `work` on a libuv worker thread and settles its promise on the JS thread: resolved with
// `done(env, result)`, or rejected with a coded error when `work` throws (nothing touches V8 off
// the JS thread). `release`, when given, runs on the JS thread just before the promise settles,
// on success and failure alike (an object's busy flag is given back there, so the object is busy
// exactly while the promise is pending).
//
// Teardown: when a worker_thread is terminated (or the process exits) while the work runs, Node
// still completes it, but the environment can no longer run JS, so settling the promise fails
// and node-addon-api turns that into a C++ exception. Escaping from the completion callback it
// would abort the whole process; it is dropped instead, since nothing can observe the promise.
template <typename R>
class PromiseWorker final : public Napi::AsyncWorker {
 public:
  using Work = std::function<R()>;
  using Done = std::function<Napi::Value(Napi::Env, R&)>;
  using Release = std::function<void()>;

  PromiseWorker(Napi::Env env, Work work, Done done, Release release = nullptr)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        done_(std::move(done)),
        release_(std::move(release)),
        threads_(at::get_num_threads()) {}
  ~PromiseWorker() override { RunRelease(); }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      // OpenMP's thread count is per calling thread: a libuv worker starts with the default (1 on
      // small machines), so carry over what the JS thread configured.
      if (at::get_num_threads() != threads_) at::set_num_threads(threads_);
      result_ = work_();
    } catch (...) {
      std::tie(code_, message_) = DescribeCurrentException();
      failed_ = true;
    }
  }

  void OnWorkComplete(Napi::Env env, napi_status status) override {
    RunRelease();
    if (status != napi_cancelled) {
      try {
        Napi::HandleScope scope(env);
        Settle(env);
      } catch (...) {
        // The environment is going away (see above): nothing is left to tell.
      }
    }
    Destroy();
  }

 private:
  void Settle(Napi::Env env) {
    if (failed_) {
      deferred_.Reject(MakeError(env, code_, message_).Value());
      return;
    }
    try {
      deferred_.Resolve(done_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void RunRelease() noexcept {
    if (!release_) return;
    Release r = std::move(release_);
    release_ = nullptr;
    try {
      r();
    } catch (...) {
      // a release hook gives back a flag and cannot fail in a way the caller could act on
    }
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  Release release_;
  int threads_;
  std::optional<R> result_;
  bool failed_ = false;
  std::string code_;
  std::string message_;
};

// Queues `work` and returns its promise (see PromiseWorker).
template <typename R>
Napi::Promise RunAsync(Napi::Env env, std::function<R()> work, std::function<Napi::Value(Napi::Env, R&)> done,
                       std::function<void()> release = nullptr) {
  auto* w = new PromiseWorker<R>(env, std::move(work), std::move(done), std::move(release));
  Napi::Promise p = w->Promise();
  try {
    w->Queue();
  } catch (...) {
    delete w;  // runs the release hook: the flag must not stay taken
    throw;
  }
  return p;
}

}  // namespace ext5
