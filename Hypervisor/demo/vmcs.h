/* VMCS field encodings (Intel SDM vol. 3, appendix B) and access helpers. */
#ifndef MV_VMCS_H
#define MV_VMCS_H
#include "cpu.h"

/* 16-bit guest / host state */
#define VMCS_GUEST_ES_SELECTOR          0x0800
#define VMCS_GUEST_CS_SELECTOR          0x0802
#define VMCS_GUEST_SS_SELECTOR          0x0804
#define VMCS_GUEST_DS_SELECTOR          0x0806
#define VMCS_GUEST_FS_SELECTOR          0x0808
#define VMCS_GUEST_GS_SELECTOR          0x080a
#define VMCS_GUEST_LDTR_SELECTOR        0x080c
#define VMCS_GUEST_TR_SELECTOR          0x080e
#define VMCS_HOST_ES_SELECTOR           0x0c00
#define VMCS_HOST_CS_SELECTOR           0x0c02
#define VMCS_HOST_SS_SELECTOR           0x0c04
#define VMCS_HOST_DS_SELECTOR           0x0c06
#define VMCS_HOST_FS_SELECTOR           0x0c08
#define VMCS_HOST_GS_SELECTOR           0x0c0a
#define VMCS_HOST_TR_SELECTOR           0x0c0c
/* 64-bit guest state */
#define VMCS_GUEST_VMCS_LINK_POINTER    0x2800
#define VMCS_GUEST_IA32_DEBUGCTL        0x2802
/* 32-bit control */
#define VMCS_PIN_BASED_CTLS             0x4000
#define VMCS_PROC_BASED_CTLS            0x4002
#define VMCS_EXCEPTION_BITMAP           0x4004
#define VMCS_PF_ERRCODE_MASK            0x4006
#define VMCS_PF_ERRCODE_MATCH           0x4008
#define VMCS_CR3_TARGET_COUNT           0x400a
#define VMCS_EXIT_CTLS                  0x400c
#define VMCS_EXIT_MSR_STORE_COUNT       0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT        0x4010
#define VMCS_ENTRY_CTLS                 0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT       0x4014
#define VMCS_ENTRY_INTR_INFO            0x4016
#define VMCS_ENTRY_EXCEPTION_ERRCODE    0x4018
#define VMCS_ENTRY_INSTR_LEN            0x401a
#define VMCS_PROC_BASED_CTLS2           0x401e
/* 32-bit read-only */
#define VMCS_VM_INSTR_ERROR             0x4400
#define VMCS_EXIT_REASON                0x4402
#define VMCS_EXIT_INTR_INFO             0x4404
#define VMCS_EXIT_INSTR_LEN             0x440c
/* 32-bit guest state */
#define VMCS_GUEST_ES_LIMIT             0x4800
#define VMCS_GUEST_CS_LIMIT             0x4802
#define VMCS_GUEST_SS_LIMIT             0x4804
#define VMCS_GUEST_DS_LIMIT             0x4806
#define VMCS_GUEST_FS_LIMIT             0x4808
#define VMCS_GUEST_GS_LIMIT             0x480a
#define VMCS_GUEST_LDTR_LIMIT           0x480c
#define VMCS_GUEST_TR_LIMIT             0x480e
#define VMCS_GUEST_GDTR_LIMIT           0x4810
#define VMCS_GUEST_IDTR_LIMIT           0x4812
#define VMCS_GUEST_ES_AR                0x4814
#define VMCS_GUEST_CS_AR                0x4816
#define VMCS_GUEST_SS_AR                0x4818
#define VMCS_GUEST_DS_AR                0x481a
#define VMCS_GUEST_FS_AR                0x481c
#define VMCS_GUEST_GS_AR                0x481e
#define VMCS_GUEST_LDTR_AR              0x4820
#define VMCS_GUEST_TR_AR                0x4822
#define VMCS_GUEST_INTERRUPTIBILITY     0x4824
#define VMCS_GUEST_ACTIVITY_STATE       0x4826
#define VMCS_GUEST_SYSENTER_CS          0x482a
/* 32-bit host state */
#define VMCS_HOST_SYSENTER_CS           0x4c00
/* natural-width control */
#define VMCS_CR0_MASK                   0x6000
#define VMCS_CR4_MASK                   0x6002
#define VMCS_CR0_SHADOW                 0x6004
#define VMCS_CR4_SHADOW                 0x6006
/* natural-width read-only */
#define VMCS_EXIT_QUALIFICATION         0x6400
/* natural-width guest state */
#define VMCS_GUEST_CR0                  0x6800
#define VMCS_GUEST_CR3                  0x6802
#define VMCS_GUEST_CR4                  0x6804
#define VMCS_GUEST_ES_BASE              0x6806
#define VMCS_GUEST_CS_BASE              0x6808
#define VMCS_GUEST_SS_BASE              0x680a
#define VMCS_GUEST_DS_BASE              0x680c
#define VMCS_GUEST_FS_BASE              0x680e
#define VMCS_GUEST_GS_BASE              0x6810
#define VMCS_GUEST_LDTR_BASE            0x6812
#define VMCS_GUEST_TR_BASE              0x6814
#define VMCS_GUEST_GDTR_BASE            0x6816
#define VMCS_GUEST_IDTR_BASE            0x6818
#define VMCS_GUEST_DR7                  0x681a
#define VMCS_GUEST_RSP                  0x681c
#define VMCS_GUEST_RIP                  0x681e
#define VMCS_GUEST_RFLAGS               0x6820
#define VMCS_GUEST_PENDING_DBG          0x6822
#define VMCS_GUEST_SYSENTER_ESP         0x6824
#define VMCS_GUEST_SYSENTER_EIP         0x6826
/* natural-width host state */
#define VMCS_HOST_CR0                   0x6c00
#define VMCS_HOST_CR3                   0x6c02
#define VMCS_HOST_CR4                   0x6c04
#define VMCS_HOST_FS_BASE               0x6c06
#define VMCS_HOST_GS_BASE               0x6c08
#define VMCS_HOST_TR_BASE               0x6c0a
#define VMCS_HOST_GDTR_BASE             0x6c0c
#define VMCS_HOST_IDTR_BASE             0x6c0e
#define VMCS_HOST_SYSENTER_ESP          0x6c10
#define VMCS_HOST_SYSENTER_EIP          0x6c12
#define VMCS_HOST_RSP                   0x6c14
#define VMCS_HOST_RIP                   0x6c16

/* Without VMCS shadowing the link pointer must be all ones (SDM 26.3.1.5). */
#define VMCS_LINK_POINTER_NONE          0xffffffffffffffffULL

/* Field width from encoding bits 14:13. */
enum vmcs_width { VMCS_W16 = 0, VMCS_W64 = 1, VMCS_W32 = 2, VMCS_WNAT = 3 };
static inline enum vmcs_width vmcs_field_width(uint32_t enc) { return (enum vmcs_width)((enc >> 13) & 3); }

/* Both return true on success (neither CF nor ZF set). */
static inline bool vmwrite(ulong enc, ulong val)
{
    bool bad;
    asm volatile("vmwrite %2, %1; setna %0" : "=qm"(bad) : "r"(enc), "r"(val) : "cc", "memory");
    return !bad;
}

static inline bool vmread(ulong enc, ulong *val)
{
    bool bad;
    ulong v = 0;
    asm volatile("vmread %2, %1; setna %0" : "=qm"(bad), "=r"(v) : "r"(enc) : "cc", "memory");
    *val = v;
    return !bad;
}

static inline ulong vmread_nat(ulong enc)
{
    ulong v;
    vmread(enc, &v);
    return v;
}

/* 64-bit fields: one access on amd64; the FULL (enc) and HIGH (enc+1) halves on i386. */
static inline void vmcs_write64(uint32_t enc, uint64_t val)
{
#ifdef __x86_64__
    vmwrite(enc, val);
#else
    vmwrite(enc, (uint32_t)val);
    vmwrite(enc + 1, (uint32_t)(val >> 32));
#endif
}

static inline bool vmcs_read64(uint32_t enc, uint64_t *val)
{
#ifdef __x86_64__
    ulong v;
    bool ok = vmread(enc, &v);
    *val = v;
    return ok;
#else
    ulong lo = 0, hi = 0;
    bool ok = vmread(enc, &lo) && vmread(enc + 1, &hi);
    *val = ((uint64_t)hi << 32) | lo;
    return ok;
#endif
}

/* 64-bit guest-state values that the host keeps a copy of (vmcs_link.c). */
struct vmcs_guest64 {
    uint64_t link_pointer;
    uint64_t debugctl;
};
void vmcs_write_guest64(struct vmcs_guest64 *g);

/* vmcs_dump.c: every field minivisor sets (plus the exit information),
 * read back with VMREAD, in XMHF's serial format. */
void vmcs_dump(const char *why);

#endif
