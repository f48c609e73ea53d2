#include "tinyad/device.h"

#include <cstring>

namespace tinyad {

namespace {

uint32_t float_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

float bits_float(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

bool is_finite(float v) { return v == v && v - v == 0.0f; }  // no libm: NaN != NaN, inf - inf = NaN

}  // namespace

bool Device::begin(const DeviceIdentity& identity, const DeviceHooks& hooks) {
  ready_ = false;
  if (hooks.write == nullptr || hooks.invoke == nullptr) return false;
  if (identity.channels == 0 || identity.channels > kMaxChannels) return false;
  if (identity.n_classes < 2 || identity.n_classes > kMaxClasses) return false;
  if (identity.window == 0 || identity.window > kRingSamples) return false;
  if (static_cast<size_t>(identity.window) * identity.channels > kMaxWindowValues) return false;
  if (identity.alert.threshold_off > identity.alert.threshold_on) return false;
  identity_ = identity;
  hooks_ = hooks;
  ring_.reset(identity.channels);
  preprocess_.channels = identity.channels;
  preprocess_.zero_point = identity.input_zero_point;
  for (size_t c = 0; c < kMaxChannels; ++c) {
    preprocess_.scale[c] = identity.affine_scale[c];
    preprocess_.offset[c] = identity.affine_offset[c];
  }
  AlertConfig alert = identity.alert;
  if (alert.min_windows == 0) alert.min_windows = 1;
  alert_.set_config(alert);
  alert_.reset();
  ewma_.set_alpha(identity.ewma_alpha);
  ewma_.reset();
  score_kind_ = ScoreKind::kLogitMargin;
  counters_ = DeviceCounters{};
  decoder_.reset_counters();
  last_ = WindowResult{};
  hop_ = identity.hop == 0 ? identity.window : identity.hop;
  decimation_ = stream_default_decimation_ = 1;
  next_window_start_ = 0;
  window_index_ = 0;
  lost_samples_ = 0;
  stream_batch_n_ = 0;
  streaming_ = false;
  set_bind_key_state(false, nullptr);
  ready_ = true;
  return true;
}

void Device::set_bind_key_state(bool encrypted, const uint8_t* check) {
  encrypted_ = encrypted;
  for (size_t i = 0; i < kBindKeyCheckSize; ++i) bind_key_check_[i] = encrypted && check ? check[i] : 0;
}

uint64_t Device::now_us() const { return hooks_.now_us ? hooks_.now_us(hooks_.ctx) : 0; }

void Device::send(size_t n) {
  if (n > 0) hooks_.write(hooks_.ctx, tx_, n);
}

void Device::on_rx(const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (decoder_.push(data[i]) && ready_) handle_frame(decoder_.frame());
  }
}

// ---------------------------------------------------------------- requests

void Device::handle_frame(const FrameView& frame) {
  if (frame.version != kProtocolVersion) {
    reply_error(frame.seq, frame.type, ErrorCode::BAD_VERSION, "unsupported protocol version");
    return;
  }
  bool is_request = false;
  if (!message_type_known(frame.type, &is_request)) {
    reply_error(frame.seq, frame.type, ErrorCode::UNKNOWN_TYPE, "unknown message type");
    return;
  }
  if (!is_request) {
    reply_error(frame.seq, frame.type, ErrorCode::NOT_A_REQUEST, "not a host->device message");
    return;
  }
  const uint16_t len = frame.payload_len;
  switch (static_cast<MsgType>(frame.type)) {
    case MsgType::HELLO:
      if (len != 0) break;
      reply_info(frame.seq);
      return;
    case MsgType::STATUS_REQ:
      if (len != 0) break;
      reply_status(frame.seq);
      return;
    case MsgType::STREAM_START:
      if (len != 0 && len != 2) break;
      handle_stream_start(frame);
      return;
    case MsgType::STREAM_STOP:
      if (len != 0) break;
      if (streaming_) {
        flush_samples();
        streaming_ = false;
        if (hooks_.stream_control) hooks_.stream_control(hooks_.ctx, false);
      }
      reply_ack(frame.seq, frame.type);
      return;
    case MsgType::INFER_REQ:
      handle_infer(frame);
      return;
    case MsgType::CONFIG_GET: {
      if (len != 2) break;
      const uint16_t key = read_u16(frame.payload);
      uint8_t kind;
      uint32_t bits;
      const ErrorCode err = config_get(key, &kind, &bits);
      if (err != ErrorCode::OK) {
        reply_error(frame.seq, frame.type, err, "unknown config key");
      } else {
        reply_config(frame.seq, key);
      }
      return;
    }
    case MsgType::CONFIG_SET: {
      if (len != 6) break;
      const uint16_t key = read_u16(frame.payload);
      const ErrorCode err = config_set(key, read_u32(frame.payload + 2));
      if (err != ErrorCode::OK) {
        reply_error(frame.seq, frame.type, err, error_name(static_cast<uint16_t>(err)));
      } else {
        reply_config(frame.seq, key);
      }
      return;
    }
    case MsgType::ADV_GET: {
      if (len != 0) break;
      if (hooks_.advertisement == nullptr) {
        reply_error(frame.seq, frame.type, ErrorCode::UNSUPPORTED, "no BLE advertisement in this build");
        return;
      }
      uint8_t adv[kMaxAdvertisement];
      size_t n = hooks_.advertisement(hooks_.ctx, adv, sizeof adv);
      if (n > sizeof adv) n = sizeof adv;
      FrameWriter w(tx_, sizeof tx_);
      w.begin(static_cast<uint8_t>(MsgType::ADV), frame.seq, static_cast<uint16_t>(1 + n));
      w.put_u8(static_cast<uint8_t>(n));
      w.put_bytes(adv, n);
      send(w.finish());
      return;
    }
    case MsgType::BIND_KEY_SET:
      if (len != 0 && len != kBindKeySize) break;
      handle_bind_key_set(frame);
      return;
    default:
      break;
  }
  reply_error(frame.seq, frame.type, ErrorCode::BAD_LENGTH, "wrong payload length");
}

void Device::handle_bind_key_set(const FrameView& frame) {
  if (hooks_.set_bind_key == nullptr) {
    reply_error(frame.seq, frame.type, ErrorCode::UNSUPPORTED, "no BLE bind key in this build");
    return;
  }
  const bool encrypt = frame.payload_len == kBindKeySize;
  uint8_t check[kBindKeyCheckSize] = {};
  if (!hooks_.set_bind_key(hooks_.ctx, encrypt ? frame.payload : nullptr, encrypt ? kBindKeySize : 0, check)) {
    reply_error(frame.seq, frame.type, ErrorCode::STORAGE_ERROR, "the bind key could not be stored");
    return;
  }
  set_bind_key_state(encrypt, check);
  // The reply identifies the key by its check value only; the key itself is never sent back.
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::ACK), frame.seq, static_cast<uint16_t>(encrypt ? 1 + kBindKeyCheckSize : 1));
  w.put_u8(frame.type);
  if (encrypt) w.put_bytes(bind_key_check_, kBindKeyCheckSize);
  send(w.finish());
}

void Device::reply_error(uint16_t seq, uint8_t offending_type, ErrorCode code, const char* text) {
  ++counters_.requests_rejected;
  size_t text_len = 0;
  while (text && text[text_len] && text_len < kErrorTextMax) ++text_len;
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::ERROR), seq, static_cast<uint16_t>(4 + text_len));
  w.put_u16(static_cast<uint16_t>(code));
  w.put_u8(offending_type);
  w.put_u8(static_cast<uint8_t>(text_len));
  w.put_bytes(reinterpret_cast<const uint8_t*>(text), text_len);
  send(w.finish());
}

void Device::reply_ack(uint16_t seq, uint8_t type) {
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::ACK), seq, 1);
  w.put_u8(type);
  send(w.finish());
}

void Device::reply_info(uint16_t seq) {
  const size_t channels = identity_.channels;
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::INFO), seq, static_cast<uint16_t>(116 + 8 * channels));
  w.put_u8(kProtocolVersion);
  w.put_u8(kFirmwareVersionMajor);
  w.put_u8(kFirmwareVersionMinor);
  w.put_u8(kFirmwareVersionPatch);
  w.put_padded_string(identity_.board, kBoardNameSize);
  w.put_padded_string(identity_.sensor, kBoardNameSize);
  w.put_f32(identity_.accel_full_scale_g);
  w.put_f32(identity_.gyro_full_scale_dps);
  w.put_f32(identity_.sample_rate_hz);
  w.put_bytes(identity_.model_sha256, sizeof identity_.model_sha256);
  w.put_u16(identity_.window);
  w.put_u16(hop_);
  w.put_u8(identity_.channels);
  w.put_u8(identity_.n_classes);
  w.put_i8(static_cast<int8_t>(preprocess_.zero_point));
  w.put_i8(identity_.output_zero_point);
  w.put_f32(identity_.input_scale);
  w.put_f32(identity_.output_scale);
  w.put_u32(identity_.arena_bytes);
  w.put_u16(static_cast<uint16_t>(kMaxPayload));
  w.put_u16(static_cast<uint16_t>((identity_.flags & ~kInfoFlagEncrypted) | (streaming_ ? kInfoFlagStreaming : 0) |
                                   (encrypted_ ? kInfoFlagEncrypted : 0)));
  w.put_f32(alert_.config().threshold_on);
  w.put_f32(alert_.config().threshold_off);
  w.put_f32(identity_.dlpf_bandwidth_hz);
  for (size_t c = 0; c < channels; ++c) w.put_f32(preprocess_.scale[c]);
  for (size_t c = 0; c < channels; ++c) w.put_f32(preprocess_.offset[c]);
  send(w.finish());
}

void Device::reply_status(uint16_t seq) {
  const DecoderCounters& dc = decoder_.counters();
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::STATUS), seq, 60);
  w.put_u8(static_cast<uint8_t>(alert_.state()));
  w.put_u8(streaming_ ? 1 : 0);
  w.put_u8(counters_.sensor_error_flags);
  w.put_u8(0);
  w.put_f32(last_.score);
  w.put_f32(last_.smoothed);
  w.put_u64(now_us());
  w.put_u32(counters_.windows);
  w.put_u32(alert_.alerts_raised());
  w.put_u32(dc.frames_ok);
  w.put_u32(dc.bad_crc);
  w.put_u32(dc.bad_cobs);
  w.put_u32(dc.bad_length);
  w.put_u32(dc.oversize);
  w.put_u32(counters_.requests_rejected);
  w.put_u32(counters_.dropped_samples);
  w.put_u32(counters_.fifo_overflows);
  send(w.finish());
}

void Device::reply_config(uint16_t seq, uint16_t key) {
  uint8_t kind = 0;
  uint32_t bits = 0;
  config_get(key, &kind, &bits);
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::CONFIG_VALUE), seq, 7);
  w.put_u16(key);
  w.put_u8(kind);
  w.put_u32(bits);
  send(w.finish());
}

void Device::handle_stream_start(const FrameView& frame) {
  uint16_t decimation = stream_default_decimation_;
  if (frame.payload_len == 2) {
    decimation = read_u16(frame.payload);
    if (decimation < 1 || decimation > 1000) {
      reply_error(frame.seq, frame.type, ErrorCode::OUT_OF_RANGE, "decimation must be 1..1000");
      return;
    }
  }
  if (hooks_.stream_control && !hooks_.stream_control(hooks_.ctx, true)) {
    reply_error(frame.seq, frame.type, ErrorCode::SENSOR_ERROR, "sensor not responding");
    return;
  }
  if (streaming_) flush_samples();  // a restart keeps the samples already batched
  decimation_ = decimation;
  stream_phase_ = 0;
  stream_batch_n_ = 0;
  streaming_ = true;
  reply_ack(frame.seq, frame.type);
}

ErrorCode Device::infer_raw_le(const uint8_t* raw_le, int8_t* input_out, WindowResult* result) {
  const size_t n_values = static_cast<size_t>(identity_.window) * identity_.channels;
  int8_t* input = input_out ? input_out : input_;
  preprocess_window_le(raw_le, identity_.window, preprocess_, input);
  WindowResult r;
  if (!hooks_.invoke(hooks_.ctx, input, n_values, r.output, identity_.n_classes, &r.invoke_us)) {
    ++counters_.invoke_failures;
    return ErrorCode::INFER_FAILED;
  }
  const float margin = logit_margin(r.output, identity_.n_classes, identity_.output_scale);
  r.probability = anomaly_probability(r.output, identity_.n_classes, identity_.output_scale);
  r.score = score_kind_ == ScoreKind::kLogitMargin ? margin : r.probability;
  r.smoothed = r.score;
  r.state = alert_.state();
  if (result) *result = r;
  return ErrorCode::OK;
}

void Device::handle_infer(const FrameView& frame) {
  if (frame.payload_len < 4) {
    reply_error(frame.seq, frame.type, ErrorCode::BAD_LENGTH, "INFER_REQ shorter than its header");
    return;
  }
  const uint16_t n_samples = read_u16(frame.payload);
  const uint8_t channels = frame.payload[2];
  if (static_cast<size_t>(frame.payload_len) != 4 + 2 * static_cast<size_t>(n_samples) * channels) {
    reply_error(frame.seq, frame.type, ErrorCode::BAD_LENGTH, "INFER_REQ length != 4 + 2 * samples * channels");
    return;
  }
  if (n_samples != identity_.window || channels != identity_.channels) {
    reply_error(frame.seq, frame.type, ErrorCode::BAD_SHAPE, "window shape differs from the model's");
    return;
  }
  WindowResult r;
  const ErrorCode err = infer_raw_le(frame.payload + 4, input_, &r);
  if (err != ErrorCode::OK) {
    reply_error(frame.seq, frame.type, err, "model invoke failed");
    return;
  }
  const size_t n_values = static_cast<size_t>(n_samples) * channels;
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::INFER_RESP), frame.seq,
          static_cast<uint16_t>(16 + n_values + identity_.n_classes));
  w.put_u32(r.invoke_us);
  w.put_f32(r.score);
  w.put_f32(r.probability);
  w.put_u16(n_samples);
  w.put_u8(channels);
  w.put_u8(identity_.n_classes);
  w.put_bytes(reinterpret_cast<const uint8_t*>(input_), n_values);
  w.put_bytes(reinterpret_cast<const uint8_t*>(r.output), identity_.n_classes);
  send(w.finish());
}

// ---------------------------------------------------------------- config

ErrorCode Device::config_get(uint16_t key, uint8_t* kind, uint32_t* value_bits) const {
  ConfigKeyInfo info;
  uint8_t c = 0;
  if (!config_key_lookup(key, &info, &c) || (info.count > 1 && c >= identity_.channels)) {
    return ErrorCode::UNKNOWN_KEY;
  }
  *kind = info.kind;
  int32_t i = 0;
  float f = 0.0f;
  switch (static_cast<ConfigKey>(info.base)) {
    case ConfigKey::THRESHOLD_ON: f = alert_.config().threshold_on; break;
    case ConfigKey::THRESHOLD_OFF: f = alert_.config().threshold_off; break;
    case ConfigKey::MIN_WINDOWS: i = static_cast<int32_t>(alert_.config().min_windows); break;
    case ConfigKey::COOLDOWN_WINDOWS: i = static_cast<int32_t>(alert_.config().cooldown_windows); break;
    case ConfigKey::EWMA_ALPHA: f = ewma_.alpha(); break;
    case ConfigKey::SCORE_KIND: i = static_cast<int32_t>(score_kind_); break;
    case ConfigKey::STREAM_DECIMATION: i = stream_default_decimation_; break;
    case ConfigKey::HOP: i = hop_; break;
    case ConfigKey::INPUT_ZERO_POINT: i = preprocess_.zero_point; break;
    case ConfigKey::OUTPUT_SCALE: f = identity_.output_scale; break;
    case ConfigKey::OUTPUT_ZERO_POINT: i = identity_.output_zero_point; break;
    case ConfigKey::AFFINE_SCALE: f = preprocess_.scale[c]; break;
    case ConfigKey::AFFINE_OFFSET: f = preprocess_.offset[c]; break;
    case ConfigKey::WINDOW: i = identity_.window; break;
    case ConfigKey::CHANNELS: i = identity_.channels; break;
    case ConfigKey::N_CLASSES: i = identity_.n_classes; break;
    case ConfigKey::BIND_KEY_CHECK:  // the check value's 4 bytes read as a big-endian number; 0 unencrypted
      i = static_cast<int32_t>((static_cast<uint32_t>(bind_key_check_[0]) << 24) |
                               (static_cast<uint32_t>(bind_key_check_[1]) << 16) |
                               (static_cast<uint32_t>(bind_key_check_[2]) << 8) | bind_key_check_[3]);
      break;
  }
  *value_bits = info.kind == 1 ? float_bits(f) : static_cast<uint32_t>(i);
  return ErrorCode::OK;
}

ErrorCode Device::config_set(uint16_t key, uint32_t value_bits) {
  ConfigKeyInfo info;
  uint8_t c = 0;
  if (!config_key_lookup(key, &info, &c) || (info.count > 1 && c >= identity_.channels)) {
    return ErrorCode::UNKNOWN_KEY;
  }
  if (!info.writable) return ErrorCode::READ_ONLY;
  const float f = bits_float(value_bits);
  const int32_t i = static_cast<int32_t>(value_bits);
  if (info.kind == 1) {
    if (!is_finite(f) || f < info.min || f > info.max) return ErrorCode::OUT_OF_RANGE;
  } else {
    // Integer ranges are small (|x| <= 100000), so comparing in float is exact for every in-range value.
    if (static_cast<float>(i) < info.min || static_cast<float>(i) > info.max) return ErrorCode::OUT_OF_RANGE;
  }
  AlertConfig alert = alert_.config();
  switch (static_cast<ConfigKey>(info.base)) {
    case ConfigKey::THRESHOLD_ON:
      if (f < alert.threshold_off) return ErrorCode::CONFLICT;
      alert.threshold_on = f;
      break;
    case ConfigKey::THRESHOLD_OFF:
      if (f > alert.threshold_on) return ErrorCode::CONFLICT;
      alert.threshold_off = f;
      break;
    case ConfigKey::MIN_WINDOWS: alert.min_windows = static_cast<uint32_t>(i); break;
    case ConfigKey::COOLDOWN_WINDOWS: alert.cooldown_windows = static_cast<uint32_t>(i); break;
    case ConfigKey::EWMA_ALPHA: ewma_.set_alpha(f); break;
    case ConfigKey::SCORE_KIND:
      if (static_cast<ScoreKind>(i) != score_kind_) ewma_.reset();  // margin and probability do not mix
      score_kind_ = static_cast<ScoreKind>(i);
      break;
    case ConfigKey::STREAM_DECIMATION: stream_default_decimation_ = static_cast<uint16_t>(i); break;
    case ConfigKey::HOP: hop_ = static_cast<uint16_t>(i); break;
    case ConfigKey::INPUT_ZERO_POINT:
      preprocess_.zero_point = i;
      identity_.input_zero_point = static_cast<int8_t>(i);
      break;
    case ConfigKey::OUTPUT_SCALE: identity_.output_scale = f; break;
    case ConfigKey::OUTPUT_ZERO_POINT: identity_.output_zero_point = static_cast<int8_t>(i); break;
    case ConfigKey::AFFINE_SCALE: preprocess_.scale[c] = f; break;
    case ConfigKey::AFFINE_OFFSET: preprocess_.offset[c] = f; break;
    case ConfigKey::WINDOW:
    case ConfigKey::CHANNELS:
    case ConfigKey::N_CLASSES:
    case ConfigKey::BIND_KEY_CHECK:
      return ErrorCode::READ_ONLY;
  }
  alert_.set_config(alert);
  return ErrorCode::OK;
}

// ---------------------------------------------------------------- samples and windows

void Device::note_fifo_overflow(uint32_t lost_samples) {
  ++counters_.fifo_overflows;
  counters_.dropped_samples += lost_samples;
  counters_.sensor_error_flags |= kSensorFifoOverflow;
  lost_samples_ += lost_samples;
  // A window must be contiguous in time: start the next one after the gap, and close the streamed batch.
  next_window_start_ = ring_.total();
  if (streaming_) flush_samples();
}

void Device::on_sample(const int16_t* sample, uint64_t timestamp_us) {
  if (!ready_) return;
  const uint32_t sample_seq = ring_.total() + lost_samples_;
  ring_.push(sample);
  if (streaming_) {
    if (stream_phase_ == 0) {
      if (stream_batch_n_ == 0) {
        stream_batch_seq0_ = sample_seq;
        stream_batch_t0_ = timestamp_us;
      }
      for (size_t c = 0; c < identity_.channels; ++c) {
        stream_batch_[stream_batch_n_ * identity_.channels + c] = sample[c];
      }
      if (++stream_batch_n_ == kSamplesPerFrame) flush_samples();
    }
    stream_phase_ = static_cast<uint16_t>((stream_phase_ + 1) % decimation_);
  }
  // Samples overwritten before their window was scored (only if windows fall behind): count and skip them.
  if (next_window_start_ < ring_.oldest()) {
    counters_.dropped_samples += ring_.oldest() - next_window_start_;
    next_window_start_ = ring_.oldest();
  }
  while (ring_.contains(next_window_start_, identity_.window)) {
    score_window();
    next_window_start_ += hop_;
  }
}

void Device::flush_samples() {
  if (stream_batch_n_ == 0) return;
  const size_t n_values = static_cast<size_t>(stream_batch_n_) * identity_.channels;
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::SAMPLES), unsolicited_seq_++, static_cast<uint16_t>(16 + 2 * n_values));
  w.put_u32(stream_batch_seq0_);
  w.put_u64(stream_batch_t0_);
  w.put_u16(decimation_);
  w.put_u8(stream_batch_n_);
  w.put_u8(identity_.channels);
  for (size_t k = 0; k < n_values; ++k) w.put_u16(static_cast<uint16_t>(stream_batch_[k]));
  stream_batch_n_ = 0;
  send(w.finish());
}

void Device::score_window() {
  const size_t n_values = static_cast<size_t>(identity_.window) * identity_.channels;
  if (!ring_.preprocess(next_window_start_, identity_.window, preprocess_, input_)) return;
  WindowResult r;
  if (!hooks_.invoke(hooks_.ctx, input_, n_values, r.output, identity_.n_classes, &r.invoke_us)) {
    ++counters_.invoke_failures;
    return;
  }
  const float margin = logit_margin(r.output, identity_.n_classes, identity_.output_scale);
  r.probability = anomaly_probability(r.output, identity_.n_classes, identity_.output_scale);
  r.score = score_kind_ == ScoreKind::kLogitMargin ? margin : r.probability;
  r.smoothed = ewma_.update(r.score);
  r.state = alert_.step(r.smoothed);
  last_ = r;
  ++counters_.windows;
  const uint32_t index = window_index_++;
  if (hooks_.window_scored) hooks_.window_scored(hooks_.ctx, r.state, r.smoothed, alert_.alerts_raised());
  if (!streaming_) return;
  const uint32_t last_seq = next_window_start_ + identity_.window - 1 + lost_samples_;
  FrameWriter w(tx_, sizeof tx_);
  w.begin(static_cast<uint8_t>(MsgType::SCORE), unsolicited_seq_++,
          static_cast<uint16_t>(26 + identity_.n_classes));
  w.put_u32(index);
  w.put_u32(last_seq);
  w.put_u32(r.invoke_us);
  w.put_f32(r.score);
  w.put_f32(r.smoothed);
  w.put_f32(r.probability);
  w.put_u8(static_cast<uint8_t>(r.state));
  w.put_u8(identity_.n_classes);
  w.put_bytes(reinterpret_cast<const uint8_t*>(r.output), identity_.n_classes);
  send(w.finish());
}

}  // namespace tinyad
