// SPDX-License-Identifier: GPL-2.0
/*
 * pvx_numa: PVX_HC_NUMA_HINT, NUMA locality hints.
 *
 * A vCPU says which guest-physical ranges it mostly uses (a batch of
 * struct pvx_gpa_range in one guest page). The host looks up where the
 * pages backing them live (gfn -> hva -> the node of the page, without
 * faulting anything in: a page not backed yet counts as unknown), takes
 * the node holding most of them as the vCPU's home node and, in mode
 * "act", restricts the calling vCPU thread to the CPUs of that node.
 *
 * Rules the administrator can rely on:
 *  - Never wider: the new CPUs are the thread's CPUs before pvx moved it
 *    (its affinity as the VMM or the administrator left it) intersected
 *    with its cpuset's CPUs as they are now and the home node's online
 *    CPUs. An empty intersection changes nothing and is counted
 *    (no_cpus).
 *  - Never outside the cpuset: every write of a thread's CPUs (move,
 *    restore) is intersected with the CPUs its cpuset allows at that
 *    moment and checked again afterwards, as __sched_setaffinity() does.
 *  - Someone else's change wins: a thread whose CPUs are no longer the
 *    ones pvx set, or whose VMM or administrator called
 *    sched_setaffinity() since (6.2+ kernels keep that request), is
 *    left alone; its new CPUs become the base for later hints.
 *  - One thread per vCPU: when another thread runs the vCPU, the one pvx
 *    held gets its CPUs back and the new one starts from its own CPUs.
 *  - Room: a vCPU is not moved to CPUs of its home node where pvx already
 *    holds as many vCPU threads of its VM as there are CPUs (those of the
 *    node the thread may use); it stays where it is and is counted (full).
 *  - Hysteresis: a vCPU with a home node moves only when another node
 *    holds more than (100 + hysteresis_pct)% of the home node's bytes.
 *  - Restored: the CPUs a thread had before pvx moved it, within its
 *    cpuset as it is then, come back when the VM dies, when mode goes
 *    from "act" to "observe", when another thread takes over the vCPU
 *    and when this module unloads (unless someone else changed them
 *    meanwhile).
 *  - Rate limit: one accepted hint per vCPU per hint_interval_ms; the
 *    others get -PVX_EAGAIN before their batch is read.
 *
 * Only the calling vCPU's own thread is moved, from its own context
 * (set_cpus_allowed_ptr(current)): a module cannot migrate memory
 * (migrate_pages is not exported), so the vCPU goes to its memory.
 * sched_setaffinity() and cpuset_cpus_allowed() are not exported to
 * modules (6.1, 6.12), so the cpuset's CPUs are read the way its
 * cgroup file shows them (pvx_numa_cpuset_cpus()).
 *
 * Bytes per node are an estimate: at most sample_pages pages of a batch
 * are looked up, evenly spread, each standing for its share of the
 * batch. A hint's cost is bounded by that, not by the ranges' length.
 *
 * Answers (RAX): 0 (RBX = the home node, or -1 when none of the hinted
 * memory is backed yet: then nothing changes, a vCPU that has a home
 * keeps it), -PVX_EINVAL (a0 not page aligned, flags,
 * reserved fields, a1..a3 not 0, a range not page aligned or empty, no
 * ranges), -PVX_EFAULT (the batch or a range outside the VM's memslots),
 * -PVX_E2BIG (more than PVX_NUMA_MAX_RANGES ranges, a range that wraps),
 * -PVX_EAGAIN (rate limit), -PVX_ENOMEM. On any error nothing changes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cgroup.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/kernfs.h>
#include <linux/kvm_host.h>
#include <linux/list.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/topology.h>
#include <linux/xarray.h>

#include "numa_calc.h"
#include "pvx_host.h"

#define CREATE_TRACE_POINTS
#include "numa_trace.h"

/* What a hint did, for the tracepoint (numa_trace.h) and the counters. */
enum pvx_numa_action {
	PVX_NUMA_NONE,		/* error, or no hinted page is backed */
	PVX_NUMA_MOVED,		/* act: the thread now runs on the home node */
	PVX_NUMA_WOULD_MOVE,	/* observe: act would have moved it */
	PVX_NUMA_STAY,		/* same home, or within the hysteresis */
	PVX_NUMA_NO_CPUS,	/* no allowed CPU on the home node */
	PVX_NUMA_FULL,		/* act: home node CPUs all hold placed vCPUs */
};

enum pvx_numa_stat {
	PVX_NUMA_STAT_CALLS,
	PVX_NUMA_STAT_OK,
	PVX_NUMA_STAT_INVALID,
	PVX_NUMA_STAT_EFAULT,
	PVX_NUMA_STAT_E2BIG,
	PVX_NUMA_STAT_EAGAIN,
	PVX_NUMA_STAT_ENOMEM,
	PVX_NUMA_STAT_MOVES,
	PVX_NUMA_STAT_WOULD_MOVE,
	PVX_NUMA_STAT_NO_CPUS,
	PVX_NUMA_STAT_RESTORED,
	PVX_NUMA_STAT_FULL,
	PVX_NUMA_STAT_NR
};

static const char * const pvx_numa_stat_names[PVX_NUMA_STAT_NR] = {
	[PVX_NUMA_STAT_CALLS]		= "calls",
	[PVX_NUMA_STAT_OK]		= "ok",
	[PVX_NUMA_STAT_INVALID]		= "invalid",
	[PVX_NUMA_STAT_EFAULT]		= "efault",
	[PVX_NUMA_STAT_E2BIG]		= "e2big",
	[PVX_NUMA_STAT_EAGAIN]		= "eagain",
	[PVX_NUMA_STAT_ENOMEM]		= "enomem",
	[PVX_NUMA_STAT_MOVES]		= "moves",
	[PVX_NUMA_STAT_WOULD_MOVE]	= "would_move",
	[PVX_NUMA_STAT_NO_CPUS]		= "no_cpus",
	[PVX_NUMA_STAT_RESTORED]	= "restored",
	[PVX_NUMA_STAT_FULL]		= "full",
};

/* ---- parameters ---------------------------------------------------- */

static bool pvx_numa_act;
static DEFINE_MUTEX(pvx_numa_lock);	/* the mode and the VM list */
static LIST_HEAD(pvx_numa_vms);
static void pvx_numa_restore_all(void);

static int pvx_numa_mode_set(const char *val, const struct kernel_param *kp)
{
	bool act;

	if (sysfs_streq(val, "act"))
		act = true;
	else if (sysfs_streq(val, "observe"))
		act = false;
	else
		return -EINVAL;

	mutex_lock(&pvx_numa_lock);
	WRITE_ONCE(pvx_numa_act, act);
	mutex_unlock(&pvx_numa_lock);
	if (!act)
		pvx_numa_restore_all();
	return 0;
}

static int pvx_numa_mode_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", READ_ONCE(pvx_numa_act) ? "act" : "observe");
}

static const struct kernel_param_ops pvx_numa_mode_ops = {
	.set = pvx_numa_mode_set,
	.get = pvx_numa_mode_get,
};
module_param_cb(mode, &pvx_numa_mode_ops, NULL, 0644);
MODULE_PARM_DESC(mode, "observe (default: compute and report) or act (move vCPU threads to their home node)");

static unsigned int hint_interval_ms = 100;
PVX_PARAM_UINT_OPS(pvx_numa_interval_ops, 0, 60000);
module_param_cb(hint_interval_ms, &pvx_numa_interval_ops, &hint_interval_ms, 0644);
MODULE_PARM_DESC(hint_interval_ms, "accepted hints per vCPU at most one per this many ms (0..60000, default 100)");

static unsigned int hysteresis_pct = 25;
PVX_PARAM_UINT_OPS(pvx_numa_hysteresis_ops, 0, 1000);
module_param_cb(hysteresis_pct, &pvx_numa_hysteresis_ops, &hysteresis_pct, 0644);
MODULE_PARM_DESC(hysteresis_pct, "a vCPU changes home only for a node with this many % more bytes (0..1000, default 25)");

static unsigned int sample_pages = 512;
PVX_PARAM_UINT_OPS(pvx_numa_sample_ops, 1, 65536);
module_param_cb(sample_pages, &pvx_numa_sample_ops, &sample_pages, 0644);
MODULE_PARM_DESC(sample_pages, "pages looked up per hint at most (1..65536, default 512)");

/* ---- state ------------------------------------------------------------ */

struct pvx_numa_vcpu {
	int vcpu_id;
	int home;			/* -1: none yet */
	bool hinted;
	unsigned long last_hint;	/* jiffies of the last accepted hint */
	/* Set while pvx holds the thread on its home node: */
	struct task_struct *task;	/* referenced */
	cpumask_var_t orig;		/* its CPUs before pvx moved it */
	cpumask_var_t applied;		/* the CPUs it got from pvx */
	cpumask_var_t user;		/* its sched_setaffinity() request then */
	bool user_set;			/* ... if it had one */
	cpumask_var_t cpus;		/* scratch, under the VM's lock */
	u64 hints, eagain, moves, no_cpus, full;
	u64 unknown;			/* last hint: bytes not backed */
	u64 node_bytes[];		/* last hint: bytes per node */
};

struct pvx_numa_vm {
	struct list_head link;		/* in pvx_numa_vms */
	struct mutex lock;		/* vcpus and their contents */
	struct xarray vcpus;		/* vcpu_id -> struct pvx_numa_vcpu */
	struct dentry *file;		/* vm<id>-<pid>/numa */
	atomic64_t stats[PVX_NUMA_STAT_NR];
};

static atomic64_t pvx_numa_stats[PVX_NUMA_STAT_NR];
static struct dentry *pvx_numa_file;	/* /sys/kernel/debug/pvx/numa */

static void pvx_numa_count(struct pvx_numa_vm *nv, enum pvx_numa_stat s)
{
	atomic64_inc(&pvx_numa_stats[s]);
	if (nv)
		atomic64_inc(&nv->stats[s]);
}

/* ---- a thread's CPUs ---------------------------------------------------- */

/*
 * The CPUs @p's cpuset allows now (its effective CPUs) into @mask: true,
 * or false when they cannot be read, and then the caller must not give
 * @p any CPU it does not have now.
 *
 * cpuset_cpus_allowed(), what sched_setaffinity() intersects with, is
 * not exported to modules. The cpuset controller's own file shows the
 * same mask, "cpuset.cpus.effective" (cgroup v2; "effective_cpus" on a
 * v1 hierarchy): its show function is called on a private seq_file, the
 * way kernfs calls it for a read(2), with the file's kernfs node found
 * under @p's cpuset's cgroup directory. The css reference keeps the
 * cpuset, its cgroup and their directory; the cftype is the cpuset
 * controller's, built into the kernel. Sleeps (kernfs_rwsem).
 */
static bool pvx_numa_cpuset_cpus(struct task_struct *p, struct cpumask *mask)
{
#ifdef CONFIG_CPUSETS
	static const char * const names[] = {
		"cpuset.cpus.effective", "cpuset.effective_cpus", "effective_cpus",
	};
	struct cgroup_subsys_state *css;
	struct kernfs_open_file *of;
	struct kernfs_node *kn = NULL;
	struct seq_file sf = {};
	struct cftype *cft;
	bool ok = false;
	unsigned int i;

	css = task_get_css(p, cpuset_cgrp_id);
	for (i = 0; !kn && i < ARRAY_SIZE(names); i++)
		if (css->cgroup->root == &cgrp_dfl_root || i)
			kn = kernfs_find_and_get(css->cgroup->kn, names[i]);
	if (!kn)
		goto out_css;
	cft = kn->priv;
	if (kernfs_type(kn) != KERNFS_FILE || !cft || cft->ss != css->ss ||
	    !cft->seq_show)
		goto out_kn;
	of = kzalloc(sizeof(*of), GFP_KERNEL);
	sf.size = PAGE_SIZE;
	sf.buf = kmalloc(sf.size, GFP_KERNEL);
	if (of && sf.buf) {
		of->kn = kn;
		of->seq_file = &sf;
		sf.private = of;
		if (!cft->seq_show(&sf, NULL) && sf.count < sf.size) {
			sf.buf[sf.count] = '\0';
			ok = !cpulist_parse(strim(sf.buf), mask);
		}
	}
	kfree(sf.buf);
	kfree(of);
out_kn:
	kernfs_put(kn);
out_css:
	css_put(css);
	if (!ok)
		pr_warn_once("cannot read a cpuset's CPUs: vCPU threads only lose CPUs\n");
	return ok;
#else
	cpumask_copy(mask, cpu_possible_mask);
	return true;
#endif
}

/* @want within @p's cpuset, online, into @cpus: false when that is empty. */
static bool pvx_numa_within(struct task_struct *p, const struct cpumask *want,
			    struct cpumask *cpus)
{
	if (!pvx_numa_cpuset_cpus(p, cpus))
		cpumask_copy(cpus, &p->cpus_mask);
	cpumask_and(cpus, cpus, want);
	return cpumask_and(cpus, cpus, cpu_online_mask);
}

/*
 * Give @p @cpus (from pvx_numa_within(@want)) as __sched_setaffinity()
 * does: when a cpuset change raced with it and left @p a CPU its cpuset
 * no longer allows, do it again within the new cpuset (its CPUs alone
 * when none of @want is left in it). 0 or set_cpus_allowed_ptr()'s error.
 */
static int pvx_numa_set_cpus(struct task_struct *p, const struct cpumask *want,
			     struct cpumask *cpus)
{
	int tries = 0, ret;

	for (;;) {
		ret = set_cpus_allowed_ptr(p, cpus);
		if (ret || !pvx_numa_cpuset_cpus(p, cpus) ||
		    cpumask_subset(&p->cpus_mask, cpus) || ++tries > 3)
			return ret;
		if (cpumask_intersects(cpus, want))
			cpumask_and(cpus, cpus, want);
		cpumask_and(cpus, cpus, cpu_online_mask);
	}
}

/*
 * Whether the CPUs that sched_setaffinity() last asked for @p are @user
 * (@set) or none (!@set), with @fill: take them instead. The kernel keeps
 * them since 6.2 (user_cpus_ptr); 6.1 clears them on every
 * sched_setaffinity(), so there a request of exactly the CPUs pvx gave
 * the thread cannot be told from pvx's own.
 */
static bool pvx_numa_user_cpus(struct task_struct *p, struct cpumask *user,
			       bool *set, bool fill)
{
	unsigned long flags;
	bool same;

	raw_spin_lock_irqsave(&p->pi_lock, flags);
	if (fill) {
		*set = p->user_cpus_ptr;
		if (*set)
			cpumask_copy(user, p->user_cpus_ptr);
	}
	same = *set == !!p->user_cpus_ptr &&
	       (!*set || cpumask_equal(user, p->user_cpus_ptr));
	raw_spin_unlock_irqrestore(&p->pi_lock, flags);
	return same;
}

/* Someone else set the thread's CPUs since pvx did. Caller holds nv->lock. */
static bool pvx_numa_changed(struct pvx_numa_vcpu *v)
{
	return !cpumask_equal(&v->task->cpus_mask, v->applied) ||
	       !pvx_numa_user_cpus(v->task, v->user, &v->user_set, false);
}

/*
 * Give the thread back the CPUs it had before pvx moved it, within its
 * cpuset as it is now, unless someone else set other CPUs since or it is
 * exiting. Caller holds nv->lock.
 */
static void pvx_numa_release(struct pvx_numa_vm *nv, struct pvx_numa_vcpu *v)
{
	struct task_struct *p = v->task;

	if (!p)
		return;
	if (!(READ_ONCE(p->flags) & PF_EXITING) && !pvx_numa_changed(v) &&
	    pvx_numa_within(p, v->orig, v->cpus) &&
	    !pvx_numa_set_cpus(p, v->orig, v->cpus))
		pvx_numa_count(nv, PVX_NUMA_STAT_RESTORED);
	put_task_struct(p);
	v->task = NULL;
}

static void pvx_numa_vcpu_free(struct pvx_numa_vcpu *v)
{
	free_cpumask_var(v->orig);
	free_cpumask_var(v->applied);
	free_cpumask_var(v->user);
	free_cpumask_var(v->cpus);
	kfree(v);
}

static void pvx_numa_vm_restore(struct pvx_numa_vm *nv)
{
	struct pvx_numa_vcpu *v;
	unsigned long id;

	mutex_lock(&nv->lock);
	xa_for_each(&nv->vcpus, id, v)
		pvx_numa_release(nv, v);
	mutex_unlock(&nv->lock);
}

static void pvx_numa_restore_all(void)
{
	struct pvx_numa_vm *nv;

	mutex_lock(&pvx_numa_lock);
	list_for_each_entry(nv, &pvx_numa_vms, link)
		pvx_numa_vm_restore(nv);
	mutex_unlock(&pvx_numa_lock);
}

/* ---- debugfs ------------------------------------------------------------ */

static void pvx_numa_show_stats(struct seq_file *m, const atomic64_t *stats)
{
	unsigned int i;

	for (i = 0; i < PVX_NUMA_STAT_NR; i++)
		seq_printf(m, "%s %lld\n", pvx_numa_stat_names[i],
			   atomic64_read(&stats[i]));
}

/* nv->lock held. "cpus": those pvx holds the thread on, "-" for none. */
static void pvx_numa_show_vcpu(struct seq_file *m, struct pvx_numa_vcpu *v)
{
	const struct cpumask *cpus;
	int n;

	/* A thread whose CPUs someone else changed is theirs (not counted). */
	cpus = v->task && !pvx_numa_changed(v) ? v->applied : NULL;

	seq_printf(m, "vcpu %d home %d hints %llu eagain %llu moves %llu no_cpus %llu full %llu",
		   v->vcpu_id, v->home, v->hints, v->eagain, v->moves,
		   v->no_cpus, v->full);
	if (cpus)
		seq_printf(m, " cpus %*pbl", cpumask_pr_args(cpus));
	else
		seq_puts(m, " cpus -");
	seq_puts(m, " bytes");
	for (n = 0; n < nr_node_ids; n++)
		seq_printf(m, " %d:%llu", n, v->node_bytes[n]);
	seq_printf(m, " unknown:%llu\n", v->unknown);
}

/* The VM's counters, then one line per vCPU that hinted. */
static int pvx_numa_vm_show(struct seq_file *m, void *unused)
{
	struct pvx_numa_vm *nv = m->private;
	struct pvx_numa_vcpu *v;
	unsigned long id;

	pvx_numa_show_stats(m, nv->stats);
	mutex_lock(&nv->lock);
	xa_for_each(&nv->vcpus, id, v)
		pvx_numa_show_vcpu(m, v);
	mutex_unlock(&nv->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_numa_vm);

static int pvx_numa_total_show(struct seq_file *m, void *unused)
{
	pvx_numa_show_stats(m, pvx_numa_stats);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_numa_total);

/* ---- per-VM state ------------------------------------------------------- */

/* Runs when the VM dies, pvx_host unloads or this module unregisters. */
static void pvx_numa_vm_dtor(struct pvx_vm *vm, void *data)
{
	struct pvx_numa_vm *nv = data;
	struct pvx_numa_vcpu *v;
	unsigned long id;

	debugfs_remove(nv->file);
	mutex_lock(&pvx_numa_lock);
	list_del(&nv->link);
	mutex_unlock(&pvx_numa_lock);
	mutex_lock(&nv->lock);
	xa_for_each(&nv->vcpus, id, v) {
		pvx_numa_release(nv, v);
		pvx_numa_vcpu_free(v);
	}
	mutex_unlock(&nv->lock);
	xa_destroy(&nv->vcpus);
	kfree(nv);
}

static struct pvx_numa_vm *pvx_numa_vm_get(struct pvx_vm *vm)
{
	struct pvx_numa_vm *nv, *new;

	nv = pvx_vm_get_priv(vm, PVX_F_NUMA_HINT);
	if (likely(nv))
		return nv;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	mutex_init(&new->lock);
	xa_init(&new->vcpus);
	INIT_LIST_HEAD(&new->link);
	nv = pvx_vm_set_priv(vm, PVX_F_NUMA_HINT, new, pvx_numa_vm_dtor);
	if (nv != new) {
		/* Another vCPU of the VM installed its state first. */
		kfree(new);
		return nv;
	}
	mutex_lock(&pvx_numa_lock);
	list_add(&nv->link, &pvx_numa_vms);
	mutex_unlock(&pvx_numa_lock);
	nv->file = debugfs_create_file("numa", 0444, pvx_vm_debugfs_dir(vm),
				       nv, &pvx_numa_vm_fops);
	return nv;
}

/* The calling vCPU's state, made on its first hint. Caller holds nv->lock. */
static struct pvx_numa_vcpu *pvx_numa_vcpu_get(struct pvx_numa_vm *nv, int id)
{
	struct pvx_numa_vcpu *v = xa_load(&nv->vcpus, id);

	if (v)
		return v;
	v = kzalloc(struct_size(v, node_bytes, nr_node_ids), GFP_KERNEL_ACCOUNT);
	if (!v)
		return NULL;
	if (!zalloc_cpumask_var(&v->orig, GFP_KERNEL_ACCOUNT) ||
	    !zalloc_cpumask_var(&v->applied, GFP_KERNEL_ACCOUNT) ||
	    !zalloc_cpumask_var(&v->user, GFP_KERNEL_ACCOUNT) ||
	    !zalloc_cpumask_var(&v->cpus, GFP_KERNEL_ACCOUNT))
		goto fail;
	v->vcpu_id = id;
	v->home = NUMA_NO_NODE;
	if (xa_err(xa_store(&nv->vcpus, id, v, GFP_KERNEL_ACCOUNT)))
		goto fail;
	return v;
fail:
	pvx_numa_vcpu_free(v);
	return NULL;
}

/* ---- the hint ----------------------------------------------------------- */

/* A checked batch: its ranges and what they add up to. */
struct pvx_numa_batch {
	u32 count;
	u64 pages;
	struct pvx_gpa_range r[PVX_NUMA_MAX_RANGES];
};

/* Every page of [gfn, gfn + npages) inside a memslot: 0 or -PVX_EFAULT. */
static long pvx_numa_check_slots(struct kvm *kvm, gfn_t gfn, u64 npages)
{
	gfn_t end = gfn + npages;
	struct kvm_memory_slot *slot;

	while (gfn < end) {
		slot = __gfn_to_memslot(kvm_memslots(kvm), gfn);
		if (!slot || (slot->flags & KVM_MEMSLOT_INVALID))
			return -PVX_EFAULT;
		gfn = slot->base_gfn + slot->npages;
	}
	return 0;
}

static long pvx_numa_check_range(struct kvm *kvm, const struct pvx_gpa_range *r)
{
	long ret = pvx_numa_range_check(r);

	if (ret)
		return ret;
	return pvx_numa_check_slots(kvm, gpa_to_gfn(r->gpa), r->len >> PAGE_SHIFT);
}

/* Read and check the whole batch at @gpa; nothing acts before this. */
static long pvx_numa_read_batch(struct kvm_vcpu *vcpu, unsigned long gpa,
				struct pvx_numa_batch *b)
{
	struct pvx_batch_hdr hdr;
	long ret;
	u32 i;

	if (!PAGE_ALIGNED(gpa))
		return -PVX_EINVAL;
	if (pvx_read_guest(vcpu, gpa, &hdr, sizeof(hdr)))
		return -PVX_EFAULT;
	ret = pvx_numa_hdr_check(&hdr);
	if (ret)
		return ret;
	if (pvx_read_guest(vcpu, gpa + sizeof(hdr), b->r,
			   hdr.count * sizeof(b->r[0])))
		return -PVX_EFAULT;
	b->count = hdr.count;
	b->pages = 0;
	for (i = 0; i < b->count; i++) {
		ret = pvx_numa_check_range(vcpu->kvm, &b->r[i]);
		if (ret)
			return ret;
		b->pages += b->r[i].len >> PAGE_SHIFT;
	}
	return 0;
}

/*
 * The node of the page backing @gfn, or NUMA_NO_NODE when none does
 * yet. get_user_pages_fast_only() never faults: the hint must not
 * allocate the memory it asks about. The vCPU thread runs in the VMM's
 * mm, which maps the memslots.
 */
static int pvx_numa_gfn_node(struct kvm *kvm, gfn_t gfn)
{
	struct kvm_memory_slot *slot = __gfn_to_memslot(kvm_memslots(kvm), gfn);
	struct page *page;
	unsigned long hva;
	int nid;

	/*
	 * What gfn_to_hva_memslot() (not exported to pvx on newer kernels)
	 * would turn down: a slot being deleted or moved, a read-only one.
	 */
	if (!slot || (slot->flags & (KVM_MEMSLOT_INVALID | KVM_MEM_READONLY)))
		return NUMA_NO_NODE;
	hva = __gfn_to_hva_memslot(slot, gfn);
	if (get_user_pages_fast_only(hva, 1, 0, &page) != 1)
		return NUMA_NO_NODE;
	nid = page_to_nid(page);
	put_page(page);
	return nid;
}

/* Bytes per node of the batch into v, from at most sample_pages lookups. */
static void pvx_numa_measure(struct kvm *kvm, const struct pvx_numa_batch *b,
			     struct pvx_numa_vcpu *v)
{
	u64 stride = pvx_numa_stride(b->pages, READ_ONCE(sample_pages));
	u64 off, npages, weight;
	unsigned int looked = 0;
	u32 i;
	int nid;

	memset(v->node_bytes, 0, nr_node_ids * sizeof(v->node_bytes[0]));
	v->unknown = 0;
	for (i = 0; i < b->count; i++) {
		npages = b->r[i].len >> PAGE_SHIFT;
		for (off = 0; off < npages; off += stride) {
			weight = min(stride, npages - off) << PAGE_SHIFT;
			nid = pvx_numa_gfn_node(kvm, gpa_to_gfn(b->r[i].gpa) + off);
			if (nid >= 0 && nid < nr_node_ids)
				v->node_bytes[nid] += weight;
			else
				v->unknown += weight;
			if (!(++looked % 64))
				cond_resched();
		}
	}
}

/* The node with the most bytes, the current home within the hysteresis. */
static int pvx_numa_pick_home(const struct pvx_numa_vcpu *v)
{
	return pvx_numa_pick(v->node_bytes, nr_node_ids, v->home,
			     READ_ONCE(hysteresis_pct));
}

/*
 * The vCPU threads of @nv, other than @self's, that pvx holds on CPUs
 * among @cpus: moved there by pvx and still on the CPUs it gave them.
 * Running or halted alike: whether a vCPU is on a run queue changes
 * every few microseconds (a guest that idles between bursts halts), and
 * a thread pvx placed runs on those CPUs whenever it runs. Counted by the
 * CPUs each was given, not by its home: a vCPU re-homed to a full node
 * stays on the CPUs it had and takes their room. Not counted: a thread
 * whose CPUs someone else changed since (it is theirs now) and one that
 * is exiting. nv->lock held, which serialises every move of the VM.
 */
static unsigned int pvx_numa_placed(struct pvx_numa_vm *nv,
				    const struct pvx_numa_vcpu *self,
				    const struct cpumask *cpus)
{
	struct pvx_numa_vcpu *v;
	unsigned int n = 0;
	unsigned long id;

	xa_for_each(&nv->vcpus, id, v)
		if (v != self && v->task &&
		    !(READ_ONCE(v->task->flags) & PF_EXITING) &&
		    !pvx_numa_changed(v) &&
		    cpumask_intersects(v->applied, cpus))
			n++;
	return n;
}

/*
 * Act on @home for the calling thread: its CPUs become the home node's
 * CPUs among those it had before pvx moved it and its cpuset allows, when
 * those CPUs have room for one more vCPU thread of the VM.
 */
static enum pvx_numa_action pvx_numa_move(struct pvx_numa_vm *nv,
					  struct pvx_numa_vcpu *v, int home)
{
	const struct cpumask *base;
	cpumask_var_t want;

	/* Another thread runs the vCPU now: the one pvx held gets its CPUs. */
	if (v->task && v->task != current)
		pvx_numa_release(nv, v);
	/* Someone else set the thread's CPUs since pvx did: theirs win. */
	if (v->task && pvx_numa_changed(v)) {
		put_task_struct(v->task);
		v->task = NULL;
	}
	base = v->task ? v->orig : &current->cpus_mask;
	if (!zalloc_cpumask_var(&want, GFP_KERNEL))
		return PVX_NUMA_NONE;
	cpumask_and(want, base, cpumask_of_node(home));
	if (!pvx_numa_within(current, want, v->cpus)) {
		free_cpumask_var(want);
		v->no_cpus++;
		pvx_numa_count(nv, PVX_NUMA_STAT_NO_CPUS);
		return PVX_NUMA_NO_CPUS;
	}
	if (v->task && cpumask_equal(v->cpus, v->applied)) {
		free_cpumask_var(want);
		return PVX_NUMA_STAY;
	}
	if (!pvx_numa_has_room(pvx_numa_placed(nv, v, v->cpus),
			       cpumask_weight(v->cpus))) {
		free_cpumask_var(want);
		v->full++;
		pvx_numa_count(nv, PVX_NUMA_STAT_FULL);
		return PVX_NUMA_FULL;
	}
	if (!v->task)
		cpumask_copy(v->orig, &current->cpus_mask);
	if (pvx_numa_set_cpus(current, want, v->cpus)) {
		free_cpumask_var(want);
		return PVX_NUMA_NO_CPUS;
	}
	free_cpumask_var(want);
	/* What the thread got (6.2+ also intersect with its user request). */
	cpumask_copy(v->applied, &current->cpus_mask);
	if (!v->task) {
		pvx_numa_user_cpus(current, v->user, &v->user_set, true);
		v->task = get_task_struct(current);
	}
	v->moves++;
	pvx_numa_count(nv, PVX_NUMA_STAT_MOVES);
	return PVX_NUMA_MOVED;
}

static enum pvx_numa_action pvx_numa_decide(struct pvx_numa_vm *nv,
					    struct pvx_numa_vcpu *v, int home)
{
	bool changed = home != v->home;

	/* Nothing hinted is backed: nothing changes, the home stays. */
	if (home == NUMA_NO_NODE)
		return PVX_NUMA_NONE;
	v->home = home;
	if (READ_ONCE(pvx_numa_act))
		return pvx_numa_move(nv, v, home);
	if (!changed)
		return PVX_NUMA_STAY;
	pvx_numa_count(nv, PVX_NUMA_STAT_WOULD_MOVE);
	return PVX_NUMA_WOULD_MOVE;
}

static enum pvx_numa_stat pvx_numa_err_stat(long ret)
{
	switch (ret) {
	case -PVX_EFAULT:
		return PVX_NUMA_STAT_EFAULT;
	case -PVX_E2BIG:
		return PVX_NUMA_STAT_E2BIG;
	case -PVX_EAGAIN:
		return PVX_NUMA_STAT_EAGAIN;
	case -PVX_ENOMEM:
		return PVX_NUMA_STAT_ENOMEM;
	default:
		return PVX_NUMA_STAT_INVALID;
	}
}

static void pvx_numa_trace(struct pvx_vm *vm, struct kvm_vcpu *vcpu,
			   const struct pvx_numa_vcpu *v, u32 ranges,
			   int home, enum pvx_numa_action act, long ret)
{
	u64 node[PVX_NUMA_TRACE_NODES] = {}, other = 0;
	int n;

	if (!trace_numa_hint_enabled())
		return;
	for (n = 0; v && !ret && n < nr_node_ids; n++) {
		if (n < PVX_NUMA_TRACE_NODES)
			node[n] = v->node_bytes[n];
		else
			other += v->node_bytes[n];
	}
	trace_numa_hint(pvx_vm_id(vm), vcpu->vcpu_id, ret ? 0 : ranges, node,
			other, v && !ret ? v->unknown : 0,
			ret ? (v ? v->home : NUMA_NO_NODE) : home, act, ret);
}

/* Everything after the rate limit; nv->lock held. */
static long pvx_numa_hint_locked(struct kvm_vcpu *vcpu, struct pvx_numa_vm *nv,
				 struct pvx_numa_vcpu *v,
				 const struct pvx_call *call,
				 struct pvx_numa_batch *b,
				 enum pvx_numa_action *act, int *answer)
{
	long ret;
	int home;

	if (call->a1 || call->a2 || call->a3)
		return -PVX_EINVAL;
	ret = pvx_numa_read_batch(vcpu, call->a0, b);
	if (ret)
		return ret;
	v->hinted = true;
	v->last_hint = jiffies;
	v->hints++;
	pvx_numa_measure(vcpu->kvm, b, v);
	home = pvx_numa_pick_home(v);
	*act = pvx_numa_decide(nv, v, home);
	/* The hint's home: -1 when nothing of it is backed (abi.rst). */
	*answer = home;
	pvx_set_out_reg(vcpu, call, VCPU_REGS_RBX, (unsigned long)(long)home);
	return 0;
}

static bool pvx_numa_rate_limited(struct pvx_numa_vcpu *v)
{
	unsigned int ms = READ_ONCE(hint_interval_ms);

	return ms && v->hinted &&
	       time_before(jiffies, v->last_hint + msecs_to_jiffies(ms));
}

static long pvx_numa_hint(struct kvm_vcpu *vcpu, struct pvx_vm *vm,
			  const struct pvx_call *call)
{
	enum pvx_numa_action act = PVX_NUMA_NONE;
	int home = NUMA_NO_NODE;
	struct pvx_numa_vcpu *v = NULL;
	struct pvx_numa_batch *b = NULL;
	struct pvx_numa_vm *nv;
	long ret;

	nv = pvx_numa_vm_get(vm);
	if (!nv) {
		ret = -PVX_ENOMEM;
		goto out;
	}
	mutex_lock(&nv->lock);
	v = pvx_numa_vcpu_get(nv, vcpu->vcpu_id);
	if (!v) {
		ret = -PVX_ENOMEM;
	} else if (pvx_numa_rate_limited(v)) {
		v->eagain++;
		ret = -PVX_EAGAIN;
	} else {
		b = kmalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
		ret = b ? pvx_numa_hint_locked(vcpu, nv, v, call, b, &act,
						&home) :
			  -PVX_ENOMEM;
	}
	pvx_numa_trace(vm, vcpu, v, b ? b->count : 0, home, act, ret);
	mutex_unlock(&nv->lock);
	kfree(b);
out:
	pvx_numa_count(nv, PVX_NUMA_STAT_CALLS);
	pvx_numa_count(nv, ret ? pvx_numa_err_stat(ret) : PVX_NUMA_STAT_OK);
	return ret;
}

static struct pvx_handler pvx_numa_handler = {
	.nr = PVX_HC_NUMA_HINT,
	.feature = PVX_F_NUMA_HINT,
	.fn = pvx_numa_hint,
	.owner = THIS_MODULE,
};

static int __init pvx_numa_init(void)
{
	struct dentry *root;
	int ret;

	root = debugfs_lookup("pvx", NULL);
	if (!IS_ERR_OR_NULL(root)) {
		pvx_numa_file = debugfs_create_file("numa", 0444, root, NULL,
						    &pvx_numa_total_fops);
		dput(root);
	}
	ret = pvx_register_handler(&pvx_numa_handler);
	if (ret) {
		pr_err("cannot register PVX_HC_NUMA_HINT: %d\n", ret);
		debugfs_remove(pvx_numa_file);
		return ret;
	}
	pr_info("serving PVX_HC_NUMA_HINT (0x%x), %u node(s), mode %s\n",
		PVX_HC_NUMA_HINT, nr_node_ids, pvx_numa_act ? "act" : "observe");
	return 0;
}

static void __exit pvx_numa_exit(void)
{
	/* Waits for calls in flight; every VM's destructor restores CPUs. */
	pvx_unregister_handler(&pvx_numa_handler);
	debugfs_remove(pvx_numa_file);
}

module_init(pvx_numa_init);
module_exit(pvx_numa_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvx: NUMA locality hints (PVX_HC_NUMA_HINT)");
