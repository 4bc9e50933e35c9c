// ext5's SentencePiece addon: a T5 vocabulary over the SentencePiece C++ library.
//
// Modelled on SeqIO's SentencePieceVocabulary (google/seqio seqio/vocabularies.py): the model file
// is read, `extra_ids` USER_DEFINED pieces "▁<extra_id_N>" are appended in reverse order (so
// <extra_id_0> is the last id, vocab_size - 1, as span corruption expects) and the result is
// loaded from the serialized proto. Debian ships no sentencepiece_model.pb.h, so the pieces are
// appended as protobuf wire bytes: concatenating serialized messages appends to repeated fields.
//
// Every entry validates its arguments; SentencePiece statuses and C++ exceptions become JS errors
// with a `code` (never an abort). Batched encoding and training run on worker threads
// (Napi::AsyncWorker: capture inputs in the constructor, Execute without V8, OnOK resolves,
// OnError rejects).

#include <napi.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using Processor = sentencepiece::SentencePieceProcessor;

// A JS Error with a stable `code`, as the TypeScript side expects.
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

[[noreturn]] void Throw(Napi::Env env, const std::string& code, const std::string& message) {
  throw MakeError(env, code, message);
}

void AppendVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// ModelProto.pieces (field 1) += SentencePiece{piece: 1, score: 2 (float 0), type: 3 = USER_DEFINED (4)}.
void AppendUserDefinedPiece(std::string* model, const std::string& piece) {
  std::string inner;
  inner.push_back(0x0a);
  AppendVarint(&inner, piece.size());
  inner += piece;
  inner.push_back(0x15);
  inner.append(4, '\0');
  inner.push_back(0x18);
  AppendVarint(&inner, 4);
  model->push_back(0x0a);
  AppendVarint(model, inner.size());
  model->append(inner);
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return static_cast<bool>(in) || in.eof();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsString()) {
    Throw(info.Env(), "E_ARG", std::string(what) + " must be a string");
  }
  return info[i].As<Napi::String>().Utf8Value();
}

// The UTF-8 bytes of a JS string in a reused per-thread buffer: one V8 pass for strings that fit
// (Utf8Value measures first, then writes), which matters for one encode call per short text.
std::string_view ArgText(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsString()) Throw(info.Env(), "E_ARG", "text must be a string");
  thread_local std::string buf(1 << 16, '\0');
  napi_env env = info.Env();
  napi_value v = info[i];
  size_t written = 0;
  napi_status st = napi_get_value_string_utf8(env, v, buf.data(), buf.size(), &written);
  if (st == napi_ok && written + 4 < buf.size()) return std::string_view(buf.data(), written);
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) Throw(info.Env(), "E_ARG", "text must be a string");
  buf.resize(len + 1);
  napi_get_value_string_utf8(env, v, buf.data(), buf.size(), &written);
  return std::string_view(buf.data(), written);
}

class SpmModel : public Napi::ObjectWrap<SpmModel> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "SpmModel",
                       {
                           InstanceMethod("pieceSize", &SpmModel::PieceSize),
                           InstanceMethod("specialIds", &SpmModel::SpecialIds),
                           InstanceMethod("encode", &SpmModel::Encode),
                           InstanceMethod("encodePieces", &SpmModel::EncodePieces),
                           InstanceMethod("encodeBatch", &SpmModel::EncodeBatch),
                           InstanceMethod("encodeBatchAsync", &SpmModel::EncodeBatchAsync),
                           InstanceMethod("decode", &SpmModel::Decode),
                           InstanceMethod("idToPiece", &SpmModel::IdToPiece),
                           InstanceMethod("pieceToId", &SpmModel::PieceToId),
                           InstanceMethod("dispose", &SpmModel::Dispose),
                       });
  }

  // new SpmModel(path: string, extraIds: number)
  explicit SpmModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SpmModel>(info) {
    Napi::Env env = info.Env();
    std::string path = ArgString(info, 0, "model path");
    if (info.Length() < 2 || !info[1].IsNumber()) Throw(env, "E_ARG", "extraIds must be a number");
    double extra = info[1].As<Napi::Number>().DoubleValue();
    if (!(extra >= 0 && extra <= 100000) || extra != static_cast<int64_t>(extra)) {
      Throw(env, "E_ARG", "extraIds must be an integer in [0, 100000]");
    }
    std::string proto;
    if (!ReadFile(path, &proto)) {
      Throw(env, "E_VOCAB_NOT_FOUND", "cannot read SentencePiece model file: " + path);
    }
    for (int i = static_cast<int>(extra) - 1; i >= 0; --i) {
      AppendUserDefinedPiece(&proto, "\xe2\x96\x81<extra_id_" + std::to_string(i) + ">");
    }
    auto sp = std::make_shared<Processor>();
    auto status = sp->LoadFromSerializedProto(proto);
    if (!status.ok()) {
      Throw(env, "E_VOCAB_CORRUPT",
            "not a valid SentencePiece model: " + path + " (" + status.ToString() + ")");
    }
    sp_ = std::move(sp);
  }

  std::shared_ptr<Processor> processor(Napi::Env env) const {
    if (!sp_) Throw(env, "E_DISPOSED", "this vocabulary was disposed");
    return sp_;
  }

 private:
  std::shared_ptr<Processor> sp_;

  Napi::Value PieceSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), processor(info.Env())->GetPieceSize());
  }

  // { pad, eos, unk, bos } as the model defines them (-1 when absent).
  Napi::Value SpecialIds(const Napi::CallbackInfo& info) {
    auto sp = processor(info.Env());
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("pad", sp->pad_id());
    o.Set("eos", sp->eos_id());
    o.Set("unk", sp->unk_id());
    o.Set("bos", sp->bos_id());
    return o;
  }

  static Napi::Int32Array ToInt32Array(Napi::Env env, const std::vector<int>& ids) {
    Napi::Int32Array out = Napi::Int32Array::New(env, ids.size());
    if (!ids.empty()) std::memcpy(out.Data(), ids.data(), ids.size() * sizeof(int32_t));
    return out;
  }

  Napi::Value Encode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string_view text = ArgText(info, 0);
    std::vector<int> ids;
    auto status = processor(env)->Encode(text, &ids);
    if (!status.ok()) Throw(env, "E_TOKENIZE", "encode failed: " + status.ToString());
    return ToInt32Array(env, ids);
  }

  Napi::Value EncodePieces(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string text = ArgString(info, 0, "text");
    std::vector<std::string> pieces;
    auto status = processor(env)->Encode(text, &pieces);
    if (!status.ok()) Throw(env, "E_TOKENIZE", "encode failed: " + status.ToString());
    Napi::Array out = Napi::Array::New(env, pieces.size());
    for (size_t i = 0; i < pieces.size(); ++i) out.Set(i, pieces[i]);
    return out;
  }

  static std::vector<std::string> TextsArg(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) Throw(env, "E_ARG", "texts must be an array of strings");
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<std::string> texts;
    texts.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      if (!v.IsString()) Throw(env, "E_ARG", "texts[" + std::to_string(i) + "] is not a string");
      texts.push_back(v.As<Napi::String>().Utf8Value());
    }
    return texts;
  }

  static int ThreadsArg(const Napi::CallbackInfo& info, size_t i) {
    if (info.Length() <= i || info[i].IsUndefined()) return 1;
    if (!info[i].IsNumber()) Throw(info.Env(), "E_ARG", "threads must be a number");
    double t = info[i].As<Napi::Number>().DoubleValue();
    if (!(t >= 1 && t <= 256) || t != static_cast<int>(t)) {
      Throw(info.Env(), "E_ARG", "threads must be an integer in [1, 256]");
    }
    return static_cast<int>(t);
  }

 public:
  // Encodes texts[begin, end) on `threads` threads; returns the first error message, or "".
  static std::string EncodeRange(const Processor& sp, const std::vector<std::string>& texts,
                                 std::vector<std::vector<int>>* out, int threads) {
    out->assign(texts.size(), {});
    const size_t n = texts.size();
    const int t = static_cast<int>(std::min<size_t>(std::max(threads, 1), std::max<size_t>(n, 1)));
    std::vector<std::string> errors(t);
    auto work = [&](int w) {
      try {
        // Contiguous blocks keep each thread on its own cache lines of `out`.
        const size_t begin = n * w / t, end = n * (w + 1) / t;
        for (size_t i = begin; i < end; ++i) {
          auto status = sp.Encode(texts[i], &(*out)[i]);
          if (!status.ok()) {
            errors[w] = "texts[" + std::to_string(i) + "]: " + status.ToString();
            return;
          }
        }
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    };
    std::vector<std::thread> pool;
    for (int w = 1; w < t; ++w) pool.emplace_back(work, w);
    work(0);
    for (auto& th : pool) th.join();
    for (auto& e : errors) {
      if (!e.empty()) return e;
    }
    return "";
  }

  // { ids: Int32Array (all texts back to back), offsets: Int32Array (n + 1) }
  static Napi::Object Flatten(Napi::Env env, const std::vector<std::vector<int>>& encoded) {
    size_t total = 0;
    for (auto& v : encoded) total += v.size();
    Napi::Int32Array ids = Napi::Int32Array::New(env, total);
    Napi::Int32Array offsets = Napi::Int32Array::New(env, encoded.size() + 1);
    size_t p = 0;
    offsets[0] = 0;
    for (size_t i = 0; i < encoded.size(); ++i) {
      if (!encoded[i].empty()) std::memcpy(ids.Data() + p, encoded[i].data(), encoded[i].size() * sizeof(int32_t));
      p += encoded[i].size();
      offsets[i + 1] = static_cast<int32_t>(p);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("ids", ids);
    o.Set("offsets", offsets);
    return o;
  }

 private:
  Napi::Value EncodeBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto texts = TextsArg(info);
    int threads = ThreadsArg(info, 1);
    std::vector<std::vector<int>> encoded;
    std::string err = EncodeRange(*processor(env), texts, &encoded, threads);
    if (!err.empty()) Throw(env, "E_TOKENIZE", "encode failed: " + err);
    return Flatten(env, encoded);
  }

  Napi::Value EncodeBatchAsync(const Napi::CallbackInfo& info);

  Napi::Value Decode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto sp = processor(env);
    std::vector<int> ids;
    if (info.Length() >= 1 && info[0].IsTypedArray() &&
        info[0].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
      Napi::Int32Array a = info[0].As<Napi::Int32Array>();
      ids.assign(a.Data(), a.Data() + a.ElementLength());
    } else if (info.Length() >= 1 && info[0].IsArray()) {
      Napi::Array a = info[0].As<Napi::Array>();
      ids.reserve(a.Length());
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value v = a.Get(i);
        double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.5;
        // Range first: casting NaN or infinity to an integer is undefined behaviour.
        if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != static_cast<int64_t>(d)) {
          Throw(env, "E_ARG", "ids[" + std::to_string(i) + "] is not an integer token id");
        }
        ids.push_back(static_cast<int>(d));
      }
    } else {
      Throw(env, "E_ARG", "ids must be an Int32Array or an array of integers");
    }
    // SeqIO maps ids past the vocabulary to UNK; a negative id is a caller bug.
    const int size = sp->GetPieceSize();
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0) Throw(env, "E_ARG", "ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is negative");
      if (ids[i] >= size) ids[i] = sp->unk_id();
    }
    std::string text;
    auto status = sp->Decode(ids, &text);
    if (!status.ok()) Throw(env, "E_TOKENIZE", "decode failed: " + status.ToString());
    return Napi::String::New(env, text);
  }

  Napi::Value IdToPiece(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto sp = processor(env);
    if (info.Length() < 1 || !info[0].IsNumber()) Throw(env, "E_ARG", "id must be a number");
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d < sp->GetPieceSize()) || d != static_cast<int64_t>(d)) {
      std::ostringstream msg;
      msg << "id " << d << " is not an integer in [0, " << sp->GetPieceSize() << ")";
      Throw(env, "E_ARG", msg.str());
    }
    return Napi::String::New(env, sp->IdToPiece(static_cast<int>(d)));
  }

  Napi::Value PieceToId(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string piece = ArgString(info, 0, "piece");
    return Napi::Number::New(env, processor(env)->PieceToId(piece));
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    sp_.reset();  // in-flight workers hold their own reference
    return info.Env().Undefined();
  }
};

class EncodeWorker : public Napi::AsyncWorker {
 public:
  EncodeWorker(Napi::Env env, std::shared_ptr<Processor> sp, std::vector<std::string> texts, int threads)
      : Napi::AsyncWorker(env, "ext5:spm-encode"),
        deferred_(Napi::Promise::Deferred::New(env)),
        sp_(std::move(sp)),
        texts_(std::move(texts)),
        threads_(threads) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    std::string err = SpmModel::EncodeRange(*sp_, texts_, &encoded_, threads_);
    if (!err.empty()) SetError("encode failed: " + err);
  }

  void OnOK() override { deferred_.Resolve(SpmModel::Flatten(Env(), encoded_)); }

  void OnError(const Napi::Error& e) override {
    Napi::Error err = MakeError(Env(), "E_TOKENIZE", e.Message());
    deferred_.Reject(err.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Processor> sp_;
  std::vector<std::string> texts_;
  int threads_;
  std::vector<std::vector<int>> encoded_;
};

Napi::Value SpmModel::EncodeBatchAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto texts = TextsArg(info);
  int threads = ThreadsArg(info, 1);
  auto* worker = new EncodeWorker(env, processor(env), std::move(texts), threads);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

class TrainWorker : public Napi::AsyncWorker {
 public:
  TrainWorker(Napi::Env env, std::unordered_map<std::string, std::string> kwargs)
      : Napi::AsyncWorker(env, "ext5:spm-train"), deferred_(Napi::Promise::Deferred::New(env)), kwargs_(std::move(kwargs)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      auto status = sentencepiece::SentencePieceTrainer::Train(kwargs_);
      if (!status.ok()) SetError(status.ToString());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

  void OnError(const Napi::Error& e) override {
    deferred_.Reject(MakeError(Env(), "E_VOCAB_TRAIN", "SentencePiece training failed: " + e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unordered_map<std::string, std::string> kwargs_;
};

// train({ key: value, ... }) -> Promise<void>; keys are SentencePieceTrainer flags.
Napi::Value Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) Throw(env, "E_ARG", "train needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  std::unordered_map<std::string, std::string> kwargs;
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string k = keys.Get(i).ToString().Utf8Value();
    Napi::Value v = o.Get(k);
    if (!v.IsString()) Throw(env, "E_ARG", "train option '" + k + "' must be a string");
    kwargs[k] = v.As<Napi::String>().Utf8Value();
  }
  if (!kwargs.count("input") || !kwargs.count("model_prefix")) {
    Throw(env, "E_ARG", "train needs 'input' and 'model_prefix'");
  }
  auto* worker = new TrainWorker(env, std::move(kwargs));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("SpmModel", SpmModel::Init(env));
  exports.Set("train", Napi::Function::New(env, Train, "train"));
  exports.Set("hardwareConcurrency", Napi::Number::New(env, std::max(1u, std::thread::hardware_concurrency())));
  return exports;
}

}  // namespace

NODE_API_MODULE(ext5_spm, Init)
