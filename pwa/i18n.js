// Every string the app shows, Bahasa Indonesia first, English second. Nothing user-visible lives elsewhere.
const STRINGS = {
  id: {
    lang_switch: 'English', username: 'Nama pengguna', password: 'Kata sandi', login: 'Masuk',
    login_failed: 'Nama pengguna atau kata sandi salah.', login_offline: 'Tidak ada koneksi. Coba masuk lagi saat ada sinyal.',
    login_other: 'Laporan di ponsel ini milik {u}. Masuk sebagai {u} untuk mengirimnya.',
    session_expired: 'Sesi berakhir. Masuk lagi untuk mengirim; laporan tetap tersimpan di ponsel.',
    unsent: 'Belum terkirim', send_now: 'Kirim sekarang', offline: 'Tidak ada koneksi — laporan dikirim otomatis nanti.',
    tab_visit: 'Kunjungan', tab_complaint: 'Pengaduan', tab_correction: 'Perbaikan data', tab_reports: 'Laporan saya',
    committee: 'Panitia', choose: 'Pilih…', checklist: 'Daftar periksa (centang yang sudah)', findings: 'Temuan',
    follow_ups: 'Tindak lanjut (satu per baris)', send: 'Kirim', category: 'Kategori', description: 'Uraian pengaduan',
    complainant: 'Nama pelapor (opsional)', kind: 'Jenis perbaikan', nik: 'NIK (16 angka)', full_name: 'Nama lengkap',
    tps: 'TPS asal', target_tps: 'TPS tujuan', tms_reason: 'Alasan TMS', details: 'Keterangan',
    cat_voter_registration: 'Pendaftaran pemilih', cat_neutrality: 'Netralitas', cat_technical: 'Teknis',
    cat_logistics: 'Logistik', cat_service: 'Pelayanan', cat_other: 'Lainnya',
    k_add_to_dptb: 'Tambah ke DPTb', k_move_tps: 'Pindah TPS', k_fix_personal_data: 'Perbaiki data pribadi',
    k_mark_tms: 'Tandai TMS', k_reinstate: 'Pulihkan pemilih',
    r_deceased: 'Meninggal dunia', r_moved: 'Pindah domisili', r_under_age: 'Belum cukup umur', r_tni_polri: 'TNI/Polri',
    err_nik: 'NIK harus tepat 16 angka.', err_required: 'Wajib diisi: {f}.', err_no_data: 'Data belum tersedia. Sambungkan ke internet sekali untuk mengunduhnya.',
    files: 'Foto atau PDF (opsional, maks. 5 MB per file)', sha256: 'Lampiran',
    err_file_size: 'File {f} lebih dari 5 MB. Pilih file yang lebih kecil.',
    err_file_type: 'File {f} bukan JPEG, PNG atau PDF (isi file yang diperiksa, bukan namanya).',
    err_store: 'Penyimpanan ponsel penuh: laporan belum tersimpan. Kurangi lampiran atau kosongkan ruang.',
    files_sent: 'Lampiran terkirim: {n} dari {m}', remove_file: 'Hapus {f}', replace_file: 'Ganti {f} dengan file lain',
    saved: 'Laporan disimpan di ponsel dan dikirim otomatis.', editing: 'Memperbaiki laporan yang ditolak server.',
    state_queued: 'Belum terkirim', state_delivered: 'Terkirim', state_fix: 'Perlu diperbaiki', state_conflict: 'Konflik',
    receipt: 'Tanda terima: posisi #{n}', status: 'Status: {s}', fix: 'Perbaiki', resend_new: 'Kirim sebagai laporan baru',
    conflict: 'Nomor laporan ini sudah dipakai di server untuk isi yang berbeda, jadi laporan ini belum tercatat. Pesan server: {m}',
    no_reports: 'Belum ada laporan.', logout: 'Keluar',
    logout_confirm: 'Keluar dari Pantau? {n} laporan yang belum terkirim dan data di ponsel ini akan dihapus.',
    update: 'Versi baru aplikasi tersedia.', update_apply: 'Pakai versi baru',
    update_dirty: 'Formulir yang belum dikirim akan hilang. Lanjutkan?',
    s_filed: 'diterima', s_acknowledged: 'ditanggapi', s_investigating: 'diselidiki', s_escalated: 'dieskalasi',
    s_resolved: 'selesai', s_dismissed: 'ditolak', s_reopened: 'dibuka lagi', s_requested: 'diajukan',
    s_verified: 'diverifikasi', s_approved: 'disetujui', s_rejected: 'ditolak', s_open: 'terbuka', s_closed: 'selesai',
    push_title: 'Aktifkan notifikasi?', push_enable: 'Aktifkan', push_later: 'Nanti saja', push_close: 'Tutup',
    push_why: 'Pantau bisa memberi tahu Anda saat ada yang perlu Anda tangani — pengaduan yang perlu ditanggapi, perbaikan data Anda yang disetujui atau ditolak — tanpa harus membuka aplikasi. Browser baru meminta izin setelah Anda menekan Aktifkan; pelaporan tetap berjalan dengan atau tanpa notifikasi.',
    push_working: 'Mengaktifkan notifikasi…', push_on: 'Notifikasi aktif.', push_retry: 'Coba lagi',
    push_denied: 'Notifikasi tidak diizinkan. Pelaporan tetap berjalan seperti biasa; izin bisa diubah nanti di pengaturan browser.',
    push_offline: 'Notifikasi belum bisa diaktifkan karena tidak ada koneksi. Laporan tetap bisa dikirim; coba lagi nanti.',
    push_failed: 'Notifikasi belum bisa diaktifkan di ponsel ini. Laporan tetap bisa dikirim seperti biasa.',
  },
  en: {
    lang_switch: 'Bahasa Indonesia', username: 'Username', password: 'Password', login: 'Log in',
    login_failed: 'Wrong username or password.', login_offline: 'No connection. Try logging in again when you have signal.',
    login_other: 'The reports on this phone belong to {u}. Log in as {u} to send them.',
    session_expired: 'Session ended. Log in again to send; your reports stay on the phone.',
    unsent: 'Unsent', send_now: 'Send now', offline: 'No connection — reports will be sent automatically later.',
    tab_visit: 'Visit', tab_complaint: 'Complaint', tab_correction: 'Correction', tab_reports: 'My reports',
    committee: 'Committee', choose: 'Choose…', checklist: 'Checklist (tick what is done)', findings: 'Findings',
    follow_ups: 'Follow-ups (one per line)', send: 'Send', category: 'Category', description: 'Complaint description',
    complainant: 'Complainant name (optional)', kind: 'Kind of correction', nik: 'NIK (16 digits)', full_name: 'Full name',
    tps: 'Current TPS', target_tps: 'Target TPS', tms_reason: 'TMS reason', details: 'Details',
    cat_voter_registration: 'Voter registration', cat_neutrality: 'Neutrality', cat_technical: 'Technical',
    cat_logistics: 'Logistics', cat_service: 'Service', cat_other: 'Other',
    k_add_to_dptb: 'Add to DPTb', k_move_tps: 'Move TPS', k_fix_personal_data: 'Fix personal data',
    k_mark_tms: 'Mark TMS', k_reinstate: 'Reinstate voter',
    r_deceased: 'Deceased', r_moved: 'Moved away', r_under_age: 'Under age', r_tni_polri: 'TNI/Polri',
    err_nik: 'NIK must be exactly 16 digits.', err_required: 'Required: {f}.', err_no_data: 'Data not downloaded yet. Connect to the internet once to get it.',
    files: 'Photos or PDFs (optional, max. 5 MB each)', sha256: 'Attachment',
    err_file_size: 'File {f} is larger than 5 MB. Choose a smaller file.',
    err_file_type: 'File {f} is not a JPEG, PNG or PDF (its content is checked, not its name).',
    err_store: 'Phone storage is full: the report is not saved. Attach fewer files or free some space.',
    files_sent: 'Attachments delivered: {n} of {m}', remove_file: 'Remove {f}', replace_file: 'Replace {f} with another file',
    saved: 'Report saved on the phone; it is sent automatically.', editing: 'Fixing a report the server refused.',
    state_queued: 'Unsent', state_delivered: 'Delivered', state_fix: 'Needs fixing', state_conflict: 'Conflict',
    receipt: 'Receipt: position #{n}', status: 'Status: {s}', fix: 'Fix', resend_new: 'Send as a new report',
    conflict: 'The server already has different content under this report number, so this report is not recorded. Server says: {m}',
    no_reports: 'No reports yet.', logout: 'Log out',
    logout_confirm: 'Log out of Pantau? {n} unsent reports and the data on this phone will be deleted.',
    update: 'A new version of the app is ready.', update_apply: 'Use new version',
    update_dirty: 'The unsent form will be lost. Continue?',
    s_filed: 'filed', s_acknowledged: 'acknowledged', s_investigating: 'investigating', s_escalated: 'escalated',
    s_resolved: 'resolved', s_dismissed: 'dismissed', s_reopened: 'reopened', s_requested: 'requested',
    s_verified: 'verified', s_approved: 'approved', s_rejected: 'rejected', s_open: 'open', s_closed: 'closed',
    push_title: 'Turn on notifications?', push_enable: 'Turn on', push_later: 'Not now', push_close: 'Close',
    push_why: 'Pantau can tell you when something needs you — a complaint to answer, your data correction approved or rejected — without opening the app. The browser asks for permission only after you tap Turn on; reporting works with or without notifications.',
    push_working: 'Turning on notifications…', push_on: 'Notifications are on.', push_retry: 'Try again',
    push_denied: 'Notifications are not allowed. Reporting works as usual; you can change this later in the browser settings.',
    push_offline: 'Notifications could not be turned on: no connection. Reports still go out; try again later.',
    push_failed: 'Notifications could not be turned on on this phone. Reports still go out as usual.',
  },
};

export let lang = localStorage.getItem('lang') === 'en' ? 'en' : 'id';

export function setLang(value) {
  lang = value;
  localStorage.setItem('lang', value);
  document.documentElement.lang = value;
}

export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? '');
}

// Fills [data-i18n] text and [data-i18n-label] aria-labels, so the HTML carries keys, not copy.
export function apply(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
}
