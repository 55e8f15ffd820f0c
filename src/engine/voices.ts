// Engine calls about voices: list corpus and user voices, add/remove a user voice from recordings,
// and load a voice's audio or log-mels (a conversion target's reference, or fine-tuning data).

export {
  addVoice,
  removeVoice,
  listVoices,
  listUserVoices,
  loadVoiceAudio,
  voiceMels,
  referenceMelsOfFiles,
  checkVoiceName,
  USER_VOICE_LIMITS,
  type AddVoiceOptions,
  type UserVoiceFile,
  type VoiceAudio,
  type VoiceSummary,
} from '../corpus/userVoices.js';
