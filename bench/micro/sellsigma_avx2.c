// SELL-8-sigma at batch 1 on AVX2: ways to fetch a slot's eight values of x, against a CSC scatter in
// double (what CXSparse's cs_gaxpy does, with the conversions the CXSparse backend makes).
//   clang -O3 bench/micro/sellsigma_avx2.c -o /tmp/sigma && /tmp/sigma 300 784 0.02
//   (add -march=znver3 to see the two-slice loop's dependence on the compiler's tuning)
// Prints the best of 21 runs per variant; "V" stores each slice's sums unpermuted and without bias,
// a wrong result kept as a probe of the per-slice store's cost.
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static uint64_t rng=88172645463325252ull; static uint64_t nx(void){rng^=rng<<13;rng^=rng>>7;rng^=rng<<17;return rng;}
typedef struct {int rows, cols, slices; uint32_t *start; uint16_t *col; float *val; uint32_t *row; int nnz;} sig;
static int *lens; static int cmpl(const void*a,const void*b){int x=*(const int*)a,y=*(const int*)b; return lens[y]!=lens[x]?lens[y]-lens[x]:x-y;}
static sig build(int rows,int cols,double d){
  // random CSR
  int *rp=malloc((rows+1)*4); int cap=rows*cols*d*2+rows+16; int *ci=malloc(cap*4); float *v=malloc(cap*4); int n=0; rp[0]=0;
  for(int r=0;r<rows;r++){for(int c=0;c<cols;c++) if((nx()%1000000)<d*1e6){ci[n]=c;v[n]=(float)((int)(nx()%200)-100)/100.f;n++;} rp[r+1]=n;}
  lens=malloc(rows*4); int *ord=malloc(rows*4); for(int r=0;r<rows;r++){lens[r]=rp[r+1]-rp[r];ord[r]=r;}
  qsort(ord,rows,4,cmpl);
  sig s; s.rows=rows;s.cols=cols;s.slices=(rows+7)/8;s.nnz=n; s.start=malloc((s.slices+1)*4); s.start[0]=0;
  for(int i=0;i<s.slices;i++) s.start[i+1]=s.start[i]+lens[ord[8*i]];
  int slots=s.start[s.slices]; s.col=calloc(8*slots+8,2); s.val=aligned_alloc(64,((8*slots*4+64)/64)*64); memset(s.val,0,8*slots*4); s.row=malloc(rows*4);
  for(int l=0;l<rows;l++){int r=ord[l]; s.row[l]=r; int sl=l/8,i=l%8; for(int k=rp[r];k<rp[r+1];k++){int at=8*(s.start[sl]+k-rp[r])+i; s.col[at]=ci[k]; s.val[at]=v[k];}}
  return s;
}
#define T __attribute__((target("avx2,fma")))
// reference
static void ref(const sig*s,const float*x,const float*b,float*y){for(int sl=0;sl<s->slices;sl++){float a[8]={0};for(uint32_t t=s->start[sl];t<s->start[sl+1];t++)for(int i=0;i<8;i++)a[i]+=s->val[8*t+i]*x[s->col[8*t+i]];for(int i=0;i<8&&8*sl+i<s->rows;i++){int r=s->row[8*sl+i];y[r]=a[i]+b[r];}}}
T static inline __m256 slotA(const uint16_t*c,const float*x){uint64_t lo,hi;memcpy(&lo,c,8);memcpy(&hi,c+4,8);
 __m128 a=_mm_setr_ps(x[lo&0xffff],x[(lo>>16)&0xffff],x[(lo>>32)&0xffff],x[lo>>48]);
 __m128 b=_mm_setr_ps(x[hi&0xffff],x[(hi>>16)&0xffff],x[(hi>>32)&0xffff],x[hi>>48]);
 return _mm256_insertf128_ps(_mm256_castps128_ps256(a),b,1);}
T static inline __m256 slotG(const uint16_t*c,const float*x){__m256i i=_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)c));return _mm256_i32gather_ps(x,i,4);}
T static inline __m256 slotB(const uint16_t*c,const float*x){uint64_t lo,hi;memcpy(&lo,c,8);memcpy(&hi,c+4,8);
 __m256 r=_mm256_broadcast_ss(x+(lo&0xffff));
 r=_mm256_blend_ps(r,_mm256_broadcast_ss(x+((lo>>16)&0xffff)),2);
 r=_mm256_blend_ps(r,_mm256_broadcast_ss(x+((lo>>32)&0xffff)),4);
 r=_mm256_blend_ps(r,_mm256_broadcast_ss(x+(lo>>48)),8);
 r=_mm256_blend_ps(r,_mm256_broadcast_ss(x+(hi&0xffff)),16);
 r=_mm256_blend_ps(r,_mm256_broadcast_ss(x+((hi>>16)&0xffff)),32);
 r=_mm256_blend_ps(r,_mm256_broadcast_ss(x+((hi>>32)&0xffff)),64);
 r=_mm256_blend_ps(r,_mm256_broadcast_ss(x+(hi>>48)),128);return r;}
// direct u16 loads from memory
T static inline __m256 slotM(const uint16_t*c,const float*x){
 __m128 a=_mm_setr_ps(x[c[0]],x[c[1]],x[c[2]],x[c[3]]); __m128 b=_mm_setr_ps(x[c[4]],x[c[5]],x[c[6]],x[c[7]]);
 return _mm256_insertf128_ps(_mm256_castps128_ps256(a),b,1);}
T static inline void store(__m256 sum,const uint32_t*row,const float*b,float*y,int rows,int sl){float o[8];_mm256_storeu_ps(o,sum);const uint32_t*l=row+8*sl;
 if(rows-8*sl>=8){for(int i=0;i<8;i++)y[l[i]]=o[i]+b[l[i]];return;} for(int i=0;i<rows-8*sl;i++)y[l[i]]=o[i]+b[l[i]];}
#define K(NAME,SLOT) T __attribute__((noinline)) void NAME(const sig*s,const float*x,const float*b,float*y){ \
 for(int sl=0;sl<s->slices;sl++){__m256 a0=_mm256_setzero_ps(),a1=a0;int64_t t=s->start[sl],e=s->start[sl+1]; \
  for(;t+2<=e;t+=2){a0=_mm256_fmadd_ps(_mm256_loadu_ps(s->val+8*t),SLOT(s->col+8*t,x),a0);a1=_mm256_fmadd_ps(_mm256_loadu_ps(s->val+8*t+8),SLOT(s->col+8*t+8,x),a1);} \
  if(t<e)a0=_mm256_fmadd_ps(_mm256_loadu_ps(s->val+8*t),SLOT(s->col+8*t,x),a0); store(_mm256_add_ps(a0,a1),s->row,b,y,s->rows,sl);}}
K(kA,slotA) K(kG,slotG) K(kB,slotB) K(kM,slotM)

// Two slices at a time: the shorter's length runs both (four chains), the longer's extra slots after.
#define K2(NAME,SLOT) T __attribute__((noinline)) void NAME(const sig*s,const float*x,const float*b,float*y){ int sl=0; \
 for(;sl+2<=s->slices;sl+=2){__m256 a0=_mm256_setzero_ps(),a1=a0,c0=a0,c1=a0;int64_t t=s->start[sl],u=s->start[sl+1],e=s->start[sl+2]; \
  const int64_t common=e-u; const uint16_t*cp=s->col+8*t,*dp=s->col+8*u; const float*vp=s->val+8*t,*wp=s->val+8*u; int64_t k=0; \
  for(;k+2<=common;k+=2){a0=_mm256_fmadd_ps(_mm256_loadu_ps(vp+8*k),SLOT(cp+8*k,x),a0);c0=_mm256_fmadd_ps(_mm256_loadu_ps(wp+8*k),SLOT(dp+8*k,x),c0); \
     a1=_mm256_fmadd_ps(_mm256_loadu_ps(vp+8*k+8),SLOT(cp+8*k+8,x),a1);c1=_mm256_fmadd_ps(_mm256_loadu_ps(wp+8*k+8),SLOT(dp+8*k+8,x),c1);} \
  for(;k<common;k++){a0=_mm256_fmadd_ps(_mm256_loadu_ps(vp+8*k),SLOT(cp+8*k,x),a0);c0=_mm256_fmadd_ps(_mm256_loadu_ps(wp+8*k),SLOT(dp+8*k,x),c0);} \
  for(;k<u-t;k++){a1=_mm256_fmadd_ps(_mm256_loadu_ps(vp+8*k),SLOT(cp+8*k,x),a1);} \
  store(_mm256_add_ps(a0,a1),s->row,b,y,s->rows,sl); store(_mm256_add_ps(c0,c1),s->row,b,y,s->rows,sl+1);} \
 for(;sl<s->slices;sl++){__m256 a0=_mm256_setzero_ps(),a1=a0;int64_t t=s->start[sl],e=s->start[sl+1]; \
  for(;t+2<=e;t+=2){a0=_mm256_fmadd_ps(_mm256_loadu_ps(s->val+8*t),SLOT(s->col+8*t,x),a0);a1=_mm256_fmadd_ps(_mm256_loadu_ps(s->val+8*t+8),SLOT(s->col+8*t+8,x),a1);} \
  if(t<e)a0=_mm256_fmadd_ps(_mm256_loadu_ps(s->val+8*t),SLOT(s->col+8*t,x),a0); store(_mm256_add_ps(a0,a1),s->row,b,y,s->rows,sl);}}
K2(k2A,slotA)
T static inline void vstore(__m256 sum,const uint32_t*row,const float*b,float*y,int rows,int sl){_mm256_storeu_ps(y+8*sl,sum);}
#define store vstore
K2(k2V,slotA)
#undef store

// no-store-overhead probe: sums only into one vector (wrong result, timing only)
// CXSparse-like gaxpy in double incl conversions
typedef struct{int*p,*i;double*x;} csc;
static csc tocsc(const sig*s){csc c;int n=s->cols;c.p=calloc(n+1,4);int nnz=0;for(int t=0;t<8*(int)s->start[s->slices];t++)if(s->val[t]!=0){c.p[s->col[t]+1]++;nnz++;}
 for(int j=0;j<n;j++)c.p[j+1]+=c.p[j]; int*w=malloc(n*4);memcpy(w,c.p,n*4);c.i=malloc(nnz*4);c.x=malloc(nnz*8);
 for(int sl=0;sl<s->slices;sl++)for(uint32_t t=s->start[sl];t<s->start[sl+1];t++)for(int i=0;i<8;i++){float v=s->val[8*t+i];if(v!=0){int k=w[s->col[8*t+i]]++;c.i[k]=s->row[8*sl+i];c.x[k]=v;}}return c;}
static double *xd,*yd;
__attribute__((noinline)) void kC(const sig*s,const csc*c,const float*x,const float*b,float*y){for(int j=0;j<s->cols;j++)xd[j]=x[j];for(int r=0;r<s->rows;r++)yd[r]=b[r];
 for(int j=0;j<s->cols;j++){double xj=xd[j];for(int p=c->p[j];p<c->p[j+1];p++)yd[c->i[p]]+=c->x[p]*xj;} for(int r=0;r<s->rows;r++)y[r]=(float)yd[r];}
int main(int argc,char**argv){if(argc<4){fprintf(stderr,"usage: sigma rows columns density\n");return 2;}int rows=atoi(argv[1]),cols=atoi(argv[2]);double d=atof(argv[3]);sig s=build(rows,cols,d);csc c=tocsc(&s);
 float*x=malloc(cols*4),*b=malloc(rows*4),*y=malloc(rows*4+64),*r=malloc(rows*4);xd=malloc(cols*8);yd=malloc(rows*8);
 for(int i=0;i<cols;i++)x[i]=(float)(nx()%100)/100.f;for(int i=0;i<rows;i++)b[i]=(float)(nx()%100)/100.f; ref(&s,x,b,r);
 const char*nm[]={"A packed","G gather","B bcast+blend","M u16 loads","2 two slices","V store probe","C csc double"};
 int slots=s.start[s.slices]; int reps=20000000/(s.nnz+200)+1;
 for(int v=0;v<7;v++){double best=1e9;for(int run=0;run<21;run++){double t0=now();for(int k=0;k<reps;k++){switch(v){case 0:kA(&s,x,b,y);break;case 1:kG(&s,x,b,y);break;case 2:kB(&s,x,b,y);break;case 3:kM(&s,x,b,y);break;case 4:k2A(&s,x,b,y);break;case 5:k2V(&s,x,b,y);break;default:kC(&s,&c,x,b,y);} __asm__ volatile(""::"r"(y):"memory");}
   double t=(now()-t0)/reps; if(t<best)best=t;}
  double e=0;for(int i=0;i<rows;i++){double q=y[i]-r[i];if(q<0)q=-q;if(q>e)e=q;}
  printf("%-14s %7.3f us  %5.2f ns/slot  err %.1e\n",nm[v],best*1e6,best*1e9/slots,e);}
 printf("%dx%d d=%.3f nnz=%d slots=%d slices=%d\n",rows,cols,d,s.nnz,slots,s.slices);}
