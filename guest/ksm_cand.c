// SPDX-License-Identifier: GPL-2.0
/*
 * KSM candidates the module finds by itself: the kernel image's text and
 * read-only data. Every guest that runs this kernel has the same bytes
 * there (but for a few pages patched at boot), so they are the surest
 * candidates a guest has. They are sent as PVX_KSM_MERGEABLE runs at load,
 * again every interval_ms (a host whose pvx_ksm was reloaded, or a guest
 * migrated to another host, learns them again; a page the host has
 * already is not counted twice) and withdrawn at rmmod.
 *
 * Where they are: the section symbols (_text, _etext, __start_rodata...)
 * are not exported to modules, and walk_iomem_res_desc() does not reach
 * the "Kernel code" and "Kernel rodata" resources: they are children of a
 * "System RAM" resource with the same flags and descriptor, and the walk
 * (find_next_iomem_res() on 6.1 and 6.12) stops at the first match, the
 * parent, and goes on after its end. Reading the resource tree by hand
 * needs resource_lock, which is not exported. So the module reads the
 * kernel's own page tables (lookup_address(), exported) over the kernel
 * image's mapping, [__START_KERNEL_map, + KERNEL_IMAGE_SIZE): after boot
 * (mark_rodata_ro(), always on x86-64) the pages mapped there read-only
 * are exactly text (executable) and read-only data (not executable,
 * __ro_after_init data included); data, bss and the freed init sections
 * are writable or not mapped. Module text lies above that window. Each
 * run found is checked to be System RAM (region_intersects()).
 *
 * The runs are found once, at load: the image does not move.
 *
 * Two more kinds are found anew in every round of ksm_file.c (they
 * change), through the same page tables: the text and read-only data of
 * loaded modules (module_ro=1, the module area [MODULES_VADDR,
 * MODULES_END): read-only mappings there are exactly that, as for the
 * image), and the pages of the image's data and bss that hold only zeros
 * (image_zero=1). Both default on. A page of either kind that a round
 * does not find again (the module went, the page was written) is
 * withdrawn by that round. The cost of a round: a walk of the module
 * area's page tables and one read of the image's writable pages (23 MiB
 * on Debian's 6.1, most of it bss).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pfn.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/page.h>
#include <asm/pgtable.h>

#include "compat.h"
#include "pvx_guest.h"
#include "ksm_internal.h"

/* Physically contiguous runs; the image is one run or a few. */
#define PVX_KSM_CAND_RANGES	32
#define PVX_KSM_INTERVAL_MIN_MS	1000u		/* the rate limit */
#define PVX_KSM_INTERVAL_MAX_MS	86400000u	/* a day */

struct pvx_ksm_cand_range {
	unsigned long pfn;
	unsigned long npages;
};

static struct pvx_ksm_cand_range pvx_cand[PVX_KSM_CAND_RANGES];
static unsigned int pvx_cand_nr;
static unsigned long pvx_cand_text;	/* pages: executable */
static unsigned long pvx_cand_rodata;	/* pages: read-only data */
static unsigned long pvx_cand_skipped;	/* pages past the range table */
/* the host may hold them: withdraw at exit (under pvx_ksm_lock) */
static bool pvx_cand_sent;

/* ---- the kernel's page tables ------------------------------------------- */

/* Bytes a page-table entry of @level maps. */
static unsigned long pvx_ksm_level_size(unsigned int level)
{
	switch (level) {
	case PG_LEVEL_4K:
		return PAGE_SIZE;
	case PG_LEVEL_2M:
		return PMD_SIZE;
	default:
		return PUD_SIZE;
	}
}

/* One present mapping of kernel virtual memory. */
struct pvx_kmap {
	unsigned long va;	/* its first byte */
	unsigned long pfn;	/* its first page frame */
	unsigned long size;	/* bytes */
	pteval_t flags;
};

/*
 * The mapping that holds @va; false when nothing is mapped there. m->size
 * is the step to the next mapping either way: a hole (no entry) is at
 * least a 2 MiB one, as lookup_address() returns NULL only for a missing
 * PMD or higher entry. (The level it reports then is the missing entry's
 * on 6.12 and its parent's on 6.1: not used.) The entry is read once: in
 * the module area it may change meanwhile, and a stale pfn only makes a
 * hint that the next round takes back. The pfn comes from the entry, not
 * from slow_virt_to_phys(), which BUG()s on an entry gone in between.
 *
 * Nothing stops the kernel from freeing the page table that holds the
 * entry between lookup_address() and the read: a huge vmap mapping
 * replacing 4 KiB ones (pmd_free_pte_page(); execmem's ROX cache of 2 MiB
 * pages in the module area on newer kernels, 7.2), or CPA collapsing a
 * split mapping again. The walkers that may not take the kernel's locks
 * read such an entry without faulting and check that it was still
 * linked: get_kernel_nofault() (a freed table page may be unmapped, with
 * debug_pagealloc), then the same lookup again, which must find the same
 * table entry at the same level; else this step is treated as unmapped
 * (the next round looks again).
 */
static bool pvx_ksm_kmap(unsigned long va, struct pvx_kmap *m)
{
	unsigned int level, again;
	pte_t *ptep, pte;

	ptep = lookup_address(va, &level);
	if (!ptep) {
		m->size = PMD_SIZE;
		return false;
	}
	m->size = pvx_ksm_level_size(level);
	m->va = ALIGN_DOWN(va, m->size);
	if (get_kernel_nofault(pte, ptep) ||
	    lookup_address(va, &again) != ptep || again != level)
		return false;
	/* not pte_present(): a kernel page's _PAGE_GLOBAL reads as PROTNONE */
	m->flags = pte_flags(pte);
	if (!(m->flags & _PAGE_PRESENT))
		return false;
	if (level == PG_LEVEL_4K)
		m->pfn = pte_pfn(pte);
	else if (level == PG_LEVEL_2M)
		m->pfn = pmd_pfn(__pmd(pte_val(pte)));
	else
		m->pfn = pud_pfn(__pud(pte_val(pte)));
	return true;
}

/* Called for each present mapping; false stops the walk. */
typedef bool (*pvx_kmap_fn)(const struct pvx_kmap *m, void *arg);

static void pvx_ksm_walk(unsigned long start, unsigned long end,
			 pvx_kmap_fn fn, void *arg)
{
	unsigned long va = start;
	struct pvx_kmap m;

	while (va < end) {
		if (pvx_ksm_kmap(va, &m) && !fn(&m, arg))
			break;
		va = ALIGN_DOWN(va, m.size) + m.size;
		if (!va)	/* wrapped past the top of the address space */
			break;
		cond_resched();
	}
}

static bool pvx_kmap_read_only(const struct pvx_kmap *m)
{
	return !(m->flags & _PAGE_RW);
}

/* ---- the image's read-only pages, found at load -------------------------- */

/* Add @n pages from @pfn, merged with the last run when they follow it. */
static void pvx_ksm_cand_add(unsigned long pfn, unsigned long n)
{
	struct pvx_ksm_cand_range *last = pvx_cand_nr ?
		&pvx_cand[pvx_cand_nr - 1] : NULL;

	if (last && last->pfn + last->npages == pfn) {
		last->npages += n;
		return;
	}
	if (pvx_cand_nr == PVX_KSM_CAND_RANGES) {
		pvx_cand_skipped += n;
		return;
	}
	pvx_cand[pvx_cand_nr].pfn = pfn;
	pvx_cand[pvx_cand_nr].npages = n;
	pvx_cand_nr++;
}

/* A mapping of the image: when read-only System RAM, a candidate. */
static bool pvx_ksm_cand_one(const struct pvx_kmap *m, void *arg)
{
	unsigned long n = m->size >> PAGE_SHIFT;

	if (!pvx_kmap_read_only(m) ||
	    region_intersects(PFN_PHYS(m->pfn), m->size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_INTERSECTS)
		return true;
	pvx_ksm_cand_add(m->pfn, n);
	if (m->flags & _PAGE_NX)
		pvx_cand_rodata += n;
	else
		pvx_cand_text += n;
	return true;
}

static void pvx_ksm_cand_find(void)
{
	pvx_ksm_walk(__START_KERNEL_map, __START_KERNEL_map + KERNEL_IMAGE_SIZE,
		     pvx_ksm_cand_one, NULL);
}

/* ---- found anew in every round: modules, zero pages of the image --------- */

static bool module_ro = true;
module_param(module_ro, bool, 0444);
MODULE_PARM_DESC(module_ro, "send the text and read-only data of loaded modules as KSM candidates, found again every interval_ms (load time; default on)");

static bool image_zero = true;
module_param(image_zero, bool, 0444);
MODULE_PARM_DESC(image_zero, "send the pages of the kernel image's data and bss that hold only zeros as KSM candidates, found again every interval_ms (load time; default on)");

/* pages found by the last round (sysfs); written under the round's lock */
static unsigned long pvx_cand_mod_now;
static unsigned long pvx_cand_zero_now;

struct pvx_cand_walk {
	unsigned long *found;	/* pages noted, for sysfs */
	bool room;		/* false: the round must stop */
};

static bool pvx_ksm_note(struct pvx_cand_walk *w, unsigned long pfn,
			 unsigned long n)
{
	w->room = pvx_ksm_round_note(pfn, n, w->found, ULONG_MAX);
	return w->room;
}

/*
 * A module mapping: read-only is text, read-only data and (once the
 * module is live) its __ro_after_init data, the same bytes in every guest
 * that loads this module's build. Its data is writable and left out.
 */
static bool pvx_ksm_mod_one(const struct pvx_kmap *m, void *arg)
{
	unsigned long n = m->size >> PAGE_SHIFT;

	if (!pvx_kmap_read_only(m) || !pfn_valid(m->pfn) ||
	    !pfn_valid(m->pfn + n - 1))
		return true;
	return pvx_ksm_note(arg, m->pfn, n);
}

/*
 * A writable mapping of the image (data, bss): its pages that hold only
 * zeros. A distribution kernel sizes many static arrays by NR_CPUS (8192
 * on Debian), and a guest with a few vCPUs never writes most of them: on
 * 6.1 the bss is 17 MiB, nearly all of it zeros that stay zeros. Only
 * reserved pages count (PageReserved): the last 2 MiB mapping past the
 * image's end also maps pages the page allocator hands out (and the
 * boot-time allocations there, reserved like the image, count too).
 */
static bool pvx_ksm_zero_one(const struct pvx_kmap *m, void *arg)
{
	unsigned long i, pfn;

	if (pvx_kmap_read_only(m))
		return true;
	for (i = 0; i < m->size >> PAGE_SHIFT; i++) {
		pfn = m->pfn + i;
		if (!pfn_valid(pfn) || !PageReserved(pfn_to_page(pfn)))
			continue;
		if (memchr_inv((void *)(m->va + i * PAGE_SIZE), 0, PAGE_SIZE))
			continue;
		if (!pvx_ksm_note(arg, pfn, 1))
			return false;
	}
	return true;
}

/*
 * In a round of ksm_file.c, under its lock: note the modules' read-only
 * pages and the image's zero pages; false when the round must stop.
 */
bool pvx_ksm_cand_note_round(void)
{
	struct pvx_cand_walk w = { .room = true };
	unsigned long mod = 0, zero = 0;

	if (module_ro) {
		w.found = &mod;
		pvx_ksm_walk(MODULES_VADDR, MODULES_END, pvx_ksm_mod_one, &w);
	}
	if (image_zero && w.room) {
		w.found = &zero;
		pvx_ksm_walk(__START_KERNEL_map,
			     __START_KERNEL_map + KERNEL_IMAGE_SIZE,
			     pvx_ksm_zero_one, &w);
	}
	WRITE_ONCE(pvx_cand_mod_now, mod);
	WRITE_ONCE(pvx_cand_zero_now, zero);
	return w.room;
}

bool pvx_ksm_cand_round_wanted(void)
{
	return module_ro || image_zero;
}

/* After the last round: its pages were withdrawn (ksm_file.c). */
void pvx_ksm_cand_round_clear(void)
{
	WRITE_ONCE(pvx_cand_mod_now, 0);
	WRITE_ONCE(pvx_cand_zero_now, 0);
}

/* ---- sending them -------------------------------------------------------- */

/* Send every candidate run, as hints or as a withdrawal; the host's answer. */
static long pvx_ksm_cand_send(bool withdraw)
{
	struct pvx_ksm_sender s;
	unsigned int i;
	long hc;

	mutex_lock(&pvx_ksm_lock);
	pvx_ksm_send_start(&s, withdraw, PVX_KSM_MERGEABLE, false);
	for (i = 0; i < pvx_cand_nr; i++)
		pvx_ksm_send_run(&s, pvx_cand[i].pfn, pvx_cand[i].npages);
	hc = pvx_ksm_send_end(&s);
	if (withdraw) {
		pvx_ksm_count(PVX_KSM_CAND_WITHDRAWN, s.done);
		pvx_cand_sent = false;
	} else {
		pvx_ksm_count(PVX_KSM_CAND_ROUNDS, 1);
		pvx_ksm_count(PVX_KSM_CAND_ADDED, s.done);
		pvx_cand_sent = true;
	}
	mutex_unlock(&pvx_ksm_lock);
	return hc;
}

/* A round: send them if the host takes hints now (it may come and go). */
static long pvx_ksm_cand_round(void)
{
	if (!pvx_cand_nr || !pvx_host_has(PVX_F_KSM_HINT))
		return -PVX_ENOSYS;
	return pvx_ksm_cand_send(false);
}

/* ---- every interval_ms --------------------------------------------------- */

static unsigned int interval_ms = 60000;
/* serializes interval_ms changes with the rounds' rescheduling and exit */
static DEFINE_MUTEX(pvx_cand_sched_lock);
static bool pvx_cand_running;	/* under pvx_cand_sched_lock */

static void pvx_ksm_cand_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(pvx_cand_work, pvx_ksm_cand_work_fn);

static void pvx_ksm_cand_work_fn(struct work_struct *work)
{
	unsigned int ms;

	pvx_ksm_cand_round();
	pvx_ksm_zero_round();
	pvx_ksm_file_round();
	mutex_lock(&pvx_cand_sched_lock);
	ms = READ_ONCE(interval_ms);
	if (pvx_cand_running && ms)
		schedule_delayed_work(&pvx_cand_work, msecs_to_jiffies(ms));
	mutex_unlock(&pvx_cand_sched_lock);
}

/* A round now, not at the next interval: the host's state is new. */
void pvx_ksm_cand_now(void)
{
	mutex_lock(&pvx_cand_sched_lock);
	if (pvx_cand_running)
		mod_delayed_work(system_wq, &pvx_cand_work, 0);
	mutex_unlock(&pvx_cand_sched_lock);
}

/*
 * 0 (only at load) or PVX_KSM_INTERVAL_MIN_MS..MAX_MS; else -EINVAL and
 * the old value stays. A new value counts from now: writing it again and
 * again postpones the next round, it never brings one forward.
 */
static int pvx_ksm_interval_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret = kstrtouint(val, 0, &v);

	if (ret)
		return ret;
	if (v && (v < PVX_KSM_INTERVAL_MIN_MS || v > PVX_KSM_INTERVAL_MAX_MS))
		return -EINVAL;
	mutex_lock(&pvx_cand_sched_lock);
	WRITE_ONCE(interval_ms, v);
	if (pvx_cand_running && v)
		mod_delayed_work(system_wq, &pvx_cand_work, msecs_to_jiffies(v));
	else if (pvx_cand_running)
		cancel_delayed_work(&pvx_cand_work);
	mutex_unlock(&pvx_cand_sched_lock);
	return 0;
}

static const struct kernel_param_ops pvx_ksm_interval_ops = {
	.set = pvx_ksm_interval_set,
	.get = param_get_uint,
};

module_param_cb(interval_ms, &pvx_ksm_interval_ops, &interval_ms, 0644);
MODULE_PARM_DESC(interval_ms, "send the candidates again (the page cache of executables found anew), and withdraw zeroed free pages allocated since, every so many ms (0: only at load; else 1000..86400000, default 60000)");

/* ---- sysfs: what was found ----------------------------------------------- */

static ssize_t candidate_pages_show(struct kobject *kobj,
				    struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", pvx_cand_text + pvx_cand_rodata -
			  pvx_cand_skipped);
}

static ssize_t candidate_text_pages_show(struct kobject *kobj,
					 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", pvx_cand_text);
}

static ssize_t candidate_rodata_pages_show(struct kobject *kobj,
					   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", pvx_cand_rodata);
}

static ssize_t candidate_runs_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", pvx_cand_nr);
}

static ssize_t module_pages_now_show(struct kobject *kobj,
				     struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_cand_mod_now));
}

static ssize_t image_zero_pages_now_show(struct kobject *kobj,
					 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(pvx_cand_zero_now));
}

static struct kobj_attribute pvx_cand_pages_attr = __ATTR_RO(candidate_pages);
static struct kobj_attribute pvx_cand_text_attr = __ATTR_RO(candidate_text_pages);
static struct kobj_attribute pvx_cand_rodata_attr = __ATTR_RO(candidate_rodata_pages);
static struct kobj_attribute pvx_cand_runs_attr = __ATTR_RO(candidate_runs);
static struct kobj_attribute pvx_cand_mod_attr = __ATTR_RO(module_pages_now);
static struct kobj_attribute pvx_cand_zero_attr = __ATTR_RO(image_zero_pages_now);

struct attribute *pvx_ksm_cand_attrs[] = {
	&pvx_cand_pages_attr.attr,
	&pvx_cand_text_attr.attr,
	&pvx_cand_rodata_attr.attr,
	&pvx_cand_runs_attr.attr,
	&pvx_cand_mod_attr.attr,
	&pvx_cand_zero_attr.attr,
	NULL
};

/* ---- load and unload ----------------------------------------------------- */

int pvx_ksm_cand_init(void)
{
	long hc;

	pvx_ksm_cand_find();
	if (pvx_cand_skipped)
		pr_warn("kernel image in more than %d runs: %lu read-only pages not hinted\n",
			PVX_KSM_CAND_RANGES, pvx_cand_skipped);
	hc = pvx_ksm_cand_round();
	if (hc != -PVX_ENOSYS)
		pr_info("candidates: %lu text and %lu read-only data pages in %u runs, host answered %ld\n",
			pvx_cand_text, pvx_cand_rodata, pvx_cand_nr, hc);
	pvx_ksm_file_round();
	mutex_lock(&pvx_cand_sched_lock);
	pvx_cand_running = true;
	if (interval_ms)
		schedule_delayed_work(&pvx_cand_work, msecs_to_jiffies(interval_ms));
	mutex_unlock(&pvx_cand_sched_lock);
	return 0;
}

/*
 * On return no round runs or is queued, and the host holds no candidate of
 * the kernel image or of the page cache.
 */
void pvx_ksm_cand_exit(void)
{
	bool sent;

	mutex_lock(&pvx_cand_sched_lock);
	pvx_cand_running = false;
	mutex_unlock(&pvx_cand_sched_lock);
	cancel_delayed_work_sync(&pvx_cand_work);
	mutex_lock(&pvx_ksm_lock);
	sent = pvx_cand_sent;
	mutex_unlock(&pvx_ksm_lock);
	if (sent)
		pvx_ksm_cand_send(true);
	pvx_ksm_file_exit();
}
