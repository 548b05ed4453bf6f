export { addAttachment, listAttachments, ATTACHMENT_MAX_BYTES_DEFAULT, type NewAttachment } from './attachments.js';
export { expireContent, EXPIRY_BATCH_SIZE_DEFAULT, type ContentExpireOptions, type ContentExpireResult } from './expiry.js';
export { getContent } from './read.js';
