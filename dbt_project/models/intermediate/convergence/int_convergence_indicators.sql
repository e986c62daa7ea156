{#
    The 19 indicators of the Kemendes village convergence scorecard (Tingkat Konvergensi) in the
    wording of the scorecard form, with the service code that answers them (null for the household
    indicators, answered from welfare and public-works data) and the agency (OPD) that acts on a T.

    data_sources lists the sources whose records can answer the indicator (docs/scorecard.md, "Sources
    and no data"); has_data says whether this deployment has at least one of them, and for the pregnant
    women's indicators also the pregnancy register that makes the targets. Without it the indicator has
    no data: the scorecard shows it as such, never as zero coverage.
#}

with configuration as (

    select * from {{ ref('stg_ops__source_configuration') }}

),

data_sources (indicator_code, source) as (

    values
        ('IBU_01', 'services'), ('IBU_02', 'services'), ('IBU_03', 'services'), ('IBU_04', 'services'),
        ('IBU_05', 'services'),
        ('IBU_06', 'dtsen'), ('IBU_06', 'bkkbn'), ('IBU_06', 'pupr_surveys'),
        ('IBU_07', 'dtsen'), ('IBU_07', 'bkkbn'), ('IBU_07', 'pupr_surveys'),
        ('IBU_08', 'services'), ('IBU_08', 'dtsen'),
        ('ANAK_01', 'services'),
        ('ANAK_02', 'eppgbm'), ('ANAK_03', 'eppgbm'),
        ('ANAK_04', 'services'), ('ANAK_05', 'services'),
        ('ANAK_06', 'dtsen'), ('ANAK_06', 'bkkbn'), ('ANAK_06', 'pupr_surveys'),
        ('ANAK_07', 'dtsen'), ('ANAK_07', 'bkkbn'), ('ANAK_07', 'pupr_surveys'),
        ('ANAK_08', 'services'), ('ANAK_08', 'dtsen'),
        ('ANAK_09', 'services'), ('ANAK_09', 'dtsen'),
        ('ANAK_10', 'services'),
        ('PAUD_01', 'services')

),

targets_from (target_group, source) as (

    values ('ibu_hamil', 'pregnancies'), ('anak_0_23', 'eppgbm'), ('anak_2_6', 'eppgbm')

),

indicators (
    indicator_code, target_group, indicator_number, indicator_name, intervention_code, responsible_agency,
    intervention_type
) as (

    values
        ('IBU_01', 'ibu_hamil', 1, 'Ibu hamil periksa kehamilan paling sedikit 4 kali selama kehamilan', 'ANC', 'Dinas Kesehatan', 'spesifik'),
        ('IBU_02', 'ibu_hamil', 2, 'Ibu hamil mendapat dan minum 1 tablet tambah darah setiap hari minimal 90 hari selama kehamilan', 'TTD', 'Dinas Kesehatan', 'spesifik'),
        ('IBU_03', 'ibu_hamil', 3, 'Ibu bersalin mendapat pelayanan nifas oleh tenaga kesehatan dilaksanakan minimal 3 kali', 'KF', 'Dinas Kesehatan', 'spesifik'),
        ('IBU_04', 'ibu_hamil', 4, 'Ibu hamil mengikuti kegiatan konseling gizi atau kelas ibu hamil minimal 4 kali selama kehamilan', 'KELAS_IBU_HAMIL', 'Dinas Kesehatan', 'spesifik'),
        ('IBU_05', 'ibu_hamil', 5, 'Ibu hamil dengan kondisi risiko tinggi dan/atau Kekurangan Energi Kronis (KEK) mendapat kunjungan ke rumah oleh bidan desa/kelurahan secara terpadu minimal 1 bulan sekali', 'KUNJUNGAN_RUMAH', 'Dinas Kesehatan', 'spesifik'),
        ('IBU_06', 'ibu_hamil', 6, 'Rumah tangga ibu hamil memiliki sarana akses air minum yang aman', null, 'DPUPR', 'sensitif'),
        ('IBU_07', 'ibu_hamil', 7, 'Rumah tangga ibu hamil memiliki sarana jamban keluarga yang layak', null, 'DPUPR', 'sensitif'),
        ('IBU_08', 'ibu_hamil', 8, 'Ibu hamil memiliki jaminan layanan kesehatan', 'JKN', 'Dinas Sosial-P2KB', 'sensitif'),
        ('ANAK_01', 'anak_0_23', 1, 'Anak usia 12 bulan ke bawah mendapatkan imunisasi dasar lengkap', 'IMUNISASI_DASAR_LENGKAP', 'Dinas Kesehatan', 'spesifik'),
        ('ANAK_02', 'anak_0_23', 2, 'Anak usia 0-23 bulan ditimbang berat badannya secara rutin setiap bulan', null, 'Dinas Kesehatan', 'spesifik'),
        ('ANAK_03', 'anak_0_23', 3, 'Anak usia 0-23 bulan diukur panjang/tinggi badannya minimal 2 kali dalam setahun', null, 'Dinas Kesehatan', 'spesifik'),
        ('ANAK_04', 'anak_0_23', 4, 'Orang tua/pengasuh yang memiliki anak usia 0-23 bulan mengikuti kegiatan konseling gizi setiap bulan', 'KONSELING_GIZI', 'Dinas Kesehatan', 'spesifik'),
        ('ANAK_05', 'anak_0_23', 5, 'Anak usia 0-23 bulan dengan status gizi buruk, gizi kurang, dan stunting mendapat kunjungan ke rumah secara terpadu minimal 1 bulan sekali', 'KUNJUNGAN_RUMAH', 'Dinas Kesehatan', 'spesifik'),
        ('ANAK_06', 'anak_0_23', 6, 'Rumah tangga yang memiliki anak usia 0-23 bulan memiliki sarana akses air minum yang aman', null, 'DPUPR', 'sensitif'),
        ('ANAK_07', 'anak_0_23', 7, 'Rumah tangga yang memiliki anak usia 0-23 bulan memiliki sarana jamban keluarga yang layak', null, 'DPUPR', 'sensitif'),
        ('ANAK_08', 'anak_0_23', 8, 'Anak usia 0-23 bulan memiliki akta kelahiran', 'AKTA_KELAHIRAN', 'Dinas Kependudukan dan Pencatatan Sipil', 'sensitif'),
        ('ANAK_09', 'anak_0_23', 9, 'Anak usia 0-23 bulan memiliki jaminan layanan kesehatan', 'JKN', 'Dinas Sosial-P2KB', 'sensitif'),
        ('ANAK_10', 'anak_0_23', 10, 'Orang tua/pengasuh yang memiliki anak usia 0-23 bulan mengikuti kelas pengasuhan (kelas BKB) minimal 1 bulan sekali', 'KELAS_BKB', 'Dinas Sosial-P2KB', 'sensitif'),
        ('PAUD_01', 'anak_2_6', 1, 'Anak usia 2-6 tahun terdaftar (peserta didik) dan aktif mengikuti layanan PAUD', 'PAUD', 'Dinas Pendidikan dan Kebudayaan', 'sensitif')

),

answered as (

    select
        data_sources.indicator_code,
        string_agg(data_sources.source, ', ' order by configuration.source_position) as data_sources,
        bool_or(configuration.is_configured) as any_source_configured
    from data_sources
    inner join configuration on configuration.source = data_sources.source
    group by data_sources.indicator_code

)

select
    indicators.indicator_code::text as indicator_code,
    indicators.target_group::text as target_group,
    indicators.indicator_number::integer as indicator_number,
    indicators.indicator_name::text as indicator_name,
    indicators.intervention_code::text as intervention_code,
    indicators.responsible_agency::text as responsible_agency,
    indicators.intervention_type::text as intervention_type,
    answered.data_sources::text as data_sources,
    (answered.any_source_configured and target_configuration.is_configured)::boolean as has_data
from indicators
inner join answered on answered.indicator_code = indicators.indicator_code
inner join targets_from on targets_from.target_group = indicators.target_group
inner join configuration as target_configuration on target_configuration.source = targets_from.source
