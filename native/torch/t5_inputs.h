// Reading the JS arguments of the T5 binding: the model config (with the size bounds checked
// before anything is allocated), forward batches, token id arrays and generate options. Every
// function validates and throws coded errors (ext5::ArgError); nothing here touches the model.
#pragma once

#include <napi.h>

#include <ATen/ATen.h>

#include <optional>
#include <string>

#include "t5_model.h"

namespace ext5 {
namespace t5io {

std::string ShapeStr(at::IntArrayRef s);

// config.json keys -> t5::Config (EXT5_CONFIG on a missing or bad key).
t5::Config ParseConfig(const Napi::Value& v);
Napi::Object ConfigToJs(Napi::Env env, const t5::Config& c);
// Refuses a config whose layer/head counts or float32 parameter memory (`params` parameters) are
// out of bounds, before the model is built.
void CheckModelSize(const t5::Config& c, double params);

bool Present(const Napi::Object& o, const char* key);
bool IsInteger(at::ScalarType t);
// Validates an integer [B, L] array or tensor and returns it as int64 on `dev` (ids < vocab).
at::Tensor Ids(const Napi::Value& v, const std::string& name, const at::Device& dev, std::optional<int64_t> vocab,
               bool allow_ignore, at::IntArrayRef expect_shape = {});

struct ParsedBatch {
  t5::Batch batch;
  double grad_scale = 1.0;
};
ParsedBatch ParseBatch(const Napi::Value& v, const t5::Model& m);
t5::GenerateOptions ParseGenerateOptions(const Napi::Value& v);

}  // namespace t5io
}  // namespace ext5
